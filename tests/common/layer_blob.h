// layer_blob.h - test layers: a tar (gzip-compressed with .tgz) of the given files, written
// under DIR as NAME.tgz, as a builder's layer blob would be.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

inline std::string MakeLayerBlob(const std::filesystem::path& dir, const std::string& name,
                                 const std::map<std::string, std::string>& files) {
  namespace fs = std::filesystem;
  fs::path src = dir / (name + ".src");
  fs::create_directories(src);
  for (const auto& [p, c] : files) {
    fs::create_directories((src / p).parent_path());
    std::ofstream(src / p) << c;
  }
  std::string blob = (dir / (name + ".tgz")).string();
  EXPECT_EQ(system(("tar -czf " + blob + " -C " + src.string() + " .").c_str()), 0);
  return blob;
}
