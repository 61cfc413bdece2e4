// attest_files.h - file helpers shared by `attest` and `verify`.
#pragma once

#include <filesystem>
#include <string>

namespace stepseal::cli {

// The whole of PATH; throws std::runtime_error("cannot read PATH: reason").
std::string slurp(const std::string& path, size_t max_bytes = size_t{1} << 30);
// Writes DATA to PATH through PATH.tmp and a rename: a reader never sees half a file.
void spit(const std::filesystem::path& path, const std::string& data);
// A step is named after its trace file: "compile" for "out/compile.trace".
std::string step_name(const std::string& trace);

}  // namespace stepseal::cli
