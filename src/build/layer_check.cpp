#include "build/layer_check.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

#include "digest/file_hash.h"
#include "distill/summary.h"
#include "util/fd.h"
#include "util/file_io.h"
#include "util/subprocess.h"

namespace stepseal::build {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::vector<LayerEntry> list_layer(const std::string& blob_path, const std::string& scratch) {
  std::error_code ec;
  fs::remove_all(scratch, ec);
  fs::create_directories(scratch, ec);
  if (ec) throw std::runtime_error("cannot create " + scratch + ": " + ec.message());
  // GNU tar finds the compression itself; whiteouts (.wh.*) are ordinary files here
  int st = util::run_command({"tar", "-xf", blob_path, "-C", scratch, "--no-same-owner",
                              "--no-same-permissions", "--delay-directory-restore"},
                             nullptr, 0, /*quiet=*/true);
  if (st != 0) {
    fs::remove_all(scratch, ec);
    throw std::runtime_error("tar could not unpack the layer " + blob_path + " (exit " +
                             std::to_string(st) + ")");
  }
  std::vector<LayerEntry> out;
  for (auto it = fs::recursive_directory_iterator(scratch, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    LayerEntry e;
    // the entry's own name (lexically: a symlink is named for itself, not for its target)
    e.path = "/" + it->path().lexically_relative(scratch).string();
    auto s = it->symlink_status(ec);
    if (fs::is_symlink(s)) e.type = 'l';
    else if (fs::is_directory(s)) e.type = 'd';
    else if (fs::is_regular_file(s)) e.type = 'f';
    else e.type = 'o';
    if (e.type == 'f') e.sha256 = hash_path(AT_FDCWD, it->path().string(), false, std::nullopt).sha256;
    out.push_back(std::move(e));
  }
  fs::remove_all(scratch, ec);
  return out;
}

namespace {

bool under(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

bool has(const json& access, const char* what) {
  for (const auto& a : access)
    if (a == what) return true;
  return false;
}

}  // namespace

json check_layer(const std::vector<LayerEntry>& layer, const json& summary,
                 const std::vector<std::string>& mounts) {
  // what the step did to each path
  std::map<std::string, json> files;
  for (const auto& f : summary.value("files", json::array()))
    if (f.is_object()) files[f.value("path", "")] = f;
  auto access_of = [&](const std::string& p) {
    auto it = files.find(p);
    return it == files.end() ? json::array() : it->second.value("access", json::array());
  };
  static const char* kMakes[] = {"create", "write", "overwrite", "rename_to", "link", "mmap_write",
                                 "chmod", "chown", "times"};
  auto made = [&](const std::string& p) {
    json a = access_of(p);
    for (const char* k : kMakes)
      if (has(a, k)) return true;
    return false;
  };
  auto removed = [&](const std::string& p) {
    json a = access_of(p);
    return has(a, "delete") || has(a, "rename_from");
  };
  static const std::set<std::string> kStubs = {"/etc/hosts", "/etc/resolv.conf", "/etc/hostname",
                                               "/run/.containerenv", "/.containerenv"};
  json unexplained = json::array(), differs = json::array(), missing = json::array(),
       stubs = json::array(), unverified = json::array();
  std::set<std::string> in_layer, explained_dirs;
  for (const auto& e : layer) {
    in_layer.insert(e.path);
    const std::string name = fs::path(e.path).filename().string();
    const std::string dir = fs::path(e.path).parent_path().string();
    if (name == ".wh..wh..opq") {  // the directory's lower content hidden: only a directory the
      // step removed or (re)created explains it, not a mere change of its mode or times
      const json a = access_of(dir);
      if (!removed(dir) && !has(a, "create") && !has(a, "rename_to"))
        unexplained.push_back({{"path", e.path}, {"kind", "opaque"}});
      continue;
    }
    if (name.rfind(".wh.", 0) == 0) {  // a whiteout: the step removed DIR/NAME
      std::string target = (fs::path(dir) / name.substr(4)).string();
      in_layer.insert(target);
      if (!removed(target)) unexplained.push_back({{"path", target}, {"kind", "removed"}});
      else
        for (std::string d = dir; d.size() > 1; d = fs::path(d).parent_path().string())
          explained_dirs.insert(d);
      continue;
    }
    if (kStubs.count(e.path)) {
      stubs.push_back(e.path);
      continue;
    }
    if (e.type == 'd') continue;  // judged below, by what lies under it
    if (!made(e.path)) {
      unexplained.push_back({{"path", e.path}, {"kind", e.type == 'l' ? "symlink" : e.type == 'f' ? "file" : "other"}});
      continue;
    }
    for (std::string d = dir; d.size() > 1; d = fs::path(d).parent_path().string())
      explained_dirs.insert(d);
    if (e.type == 'f') {
      auto it = files.find(e.path);
      std::string after = it != files.end() ? it->second.value("sha256_after", "") : "";
      if (after.empty())  // no exact after-digest (digests off, or raced): nothing to compare
        unverified.push_back({{"path", e.path}, {"layer_sha256", e.sha256}});
      else if (after != e.sha256)
        differs.push_back({{"path", e.path}, {"layer_sha256", e.sha256}, {"traced_sha256", after}});
    }
  }
  // a directory entry is explained if the step made it, or made something under it
  for (const auto& e : layer)
    if (e.type == 'd' && !made(e.path) && !explained_dirs.count(e.path) && !kStubs.count(e.path)) {
      bool any_child = false;
      for (const auto& s : stubs)
        if (under(s.get<std::string>(), e.path)) any_child = true;
      for (const auto& u : unexplained)
        if (under(u.value("path", ""), e.path)) any_child = true;
      if (!any_child) unexplained.push_back({{"path", e.path}, {"kind", "directory"}});
    }
  // the other direction: what the step changed must be in the layer
  for (const auto& [p, f] : files) {
    if (p.empty() || p[0] != '/') continue;
    bool on_mount = false;
    for (const auto& m : mounts)
      if (under(p, m)) on_mount = true;
    if (on_mount) continue;
    const json a = f.value("access", json::array());
    const bool gone = removed(p) && !has(a, "rename_to");
    if (gone && has(a, "create")) continue;  // made and removed within the step
    if ((made(p) || gone) && !in_layer.count(p))
      missing.push_back({{"path", p}, {"kind", gone ? "removed" : "changed"}});
  }
  const bool ok = unexplained.empty() && differs.empty() && missing.empty() && unverified.empty();
  return {{"entries", layer.size()},
          {"unexplained", unexplained},
          {"content_differs", differs},
          {"content_unverified", unverified},
          {"missing", missing},
          {"stubs", stubs},
          {"reconciled", ok}};
}

namespace {

// Unpacks only `members` of a layer blob into `dir`. The names go to tar in a file, NUL
// separated and taken verbatim (-T --null --verbatim-files-from): a member named like an option
// ("--checkpoint-action=exec=...") stays a name, and no member list is too long for exec. tar
// exits 2 for members the layer lacks (expected: most layers lack most paths); anything else
// but 0 is an error (throws).
// Returns the members the layer has among them (absolute paths), as tar names them (-v): also
// one it could not unpack (a hard link whose target was not asked for).
std::set<std::string> extract_members(const std::string& blob, const std::string& dir,
                                      const std::vector<std::string>& members) {
  const std::string list = dir + ".members";
  {
    std::string names;
    for (const auto& m : members) {  // members are absolute; the tar may have them with or without "./"
      names += m.substr(1);
      names.push_back('\0');
      names += "." + m;
      names.push_back('\0');
    }
    int fd = open(list.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !util::write_all(fd, names.data(), names.size())) {
      if (fd >= 0) close(fd);
      throw std::runtime_error("cannot write " + list);
    }
    close(fd);
  }
  std::string listed;
  int st = util::run_command({"tar", "-xvf", blob, "-C", dir, "--no-same-owner",
                              "--no-same-permissions", "--no-recursion", "--null",
                              "--verbatim-files-from", "-T", list},
                             &listed, 64u << 20, /*quiet=*/true);
  unlink(list.c_str());
  if (st != 0 && st != 2)
    throw std::runtime_error("tar could not read the layer " + blob + " (exit " + std::to_string(st) + ")");
  std::set<std::string> present;
  for (size_t i = 0; i < listed.size();) {
    size_t j = listed.find('\n', i);
    if (j == std::string::npos) j = listed.size();
    std::string name = listed.substr(i, j - i);
    if (name.rfind("./", 0) == 0) name = name.substr(2);
    while (!name.empty() && name.back() == '/') name.pop_back();
    if (!name.empty()) present.insert("/" + name);
    i = j + 1;
  }
  return present;
}

}  // namespace

std::map<std::string, std::vector<std::string>> context_digests(const std::string& dir,
                                                                size_t max_files) {
  std::map<std::string, std::vector<std::string>> out;
  std::error_code ec;
  size_t n = 0;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator() && n < max_files; it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    n++;
    auto h = hash_path(AT_FDCWD, it->path().string(), false, std::nullopt);
    if (!h.sha256.empty()) out[h.sha256].push_back(fs::relative(it->path(), dir, ec).string());
  }
  return out;
}

std::map<std::string, std::string> lower_contents(const std::set<std::string>& paths,
                                                  const std::vector<std::string>& lower,
                                                  const std::string& scratch) {
  // The topmost lower layer that says anything about a path decides: the path itself (its
  // content; "not a regular file" for anything else, or a member tar could not unpack), its
  // whiteout or an ancestor's (nothing was there), an ancestor that is not a directory there
  // (unknown: kNotRegular), an ancestor's opaque marker (nothing below it from further down).
  std::map<std::string, std::string> before;
  std::set<std::string> open_paths = paths;
  std::error_code ec;
  auto wh_of = [](const std::string& p) {
    return (fs::path(p).parent_path() / (".wh." + fs::path(p).filename().string())).string();
  };
  auto ancestors = [](const std::string& p) {
    std::vector<std::string> out;
    for (fs::path a = fs::path(p).parent_path(); a.string().size() > 1; a = a.parent_path())
      out.push_back(a.string());
    return out;
  };
  for (size_t i = lower.size(); i-- > 0 && !open_paths.empty();) {
    std::set<std::string> ask_set;
    for (const auto& p : open_paths) {
      ask_set.insert(p);
      ask_set.insert(wh_of(p));
      for (const auto& a : ancestors(p)) {
        ask_set.insert(a);
        ask_set.insert(wh_of(a));
        ask_set.insert(a + "/.wh..wh..opq");
      }
    }
    fs::remove_all(scratch, ec);
    fs::create_directories(scratch, ec);
    const std::set<std::string> present =
        extract_members(lower[i], scratch, std::vector<std::string>(ask_set.begin(), ask_set.end()));
    for (auto it = open_paths.begin(); it != open_paths.end();) {
      const std::string& p = *it;
      bool decided = true;
      if (present.count(p)) {
        // hashed inside the scratch directory as in the container's root: a symlinked
        // directory of the layer never leads to the host's files
        std::string h;
        fs::path got = fs::path(scratch) / p.substr(1);
        if (fs::is_regular_file(fs::symlink_status(got, ec))) {
          util::UniqueFd root(open(scratch.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
          if (root.get() >= 0) h = hash_path(root.get(), p.substr(1), false, std::nullopt, /*in_root=*/true).sha256;
        }
        before[p] = h.empty() ? std::string(kNotRegular) : h;
      } else if (present.count(wh_of(p))) {
        // removed here: nothing was there before
      } else {
        decided = false;
        for (const auto& a : ancestors(p)) {
          if (present.count(wh_of(a))) {  // an ancestor removed here
            decided = true;
            break;
          }
          if (present.count(a) && !fs::is_directory(fs::symlink_status(fs::path(scratch) / a.substr(1), ec))) {
            before[p] = kNotRegular;  // an ancestor is a symlink or a file here: not followed
            decided = true;
            break;
          }
          if (present.count(a + "/.wh..wh..opq")) {  // nothing below it from further down
            decided = true;
            break;
          }
        }
      }
      it = decided ? open_paths.erase(it) : std::next(it);
    }
  }
  fs::remove_all(scratch, ec);
  return before;
}

json run_preimages(const json& summary, const std::vector<std::string>& lower,
                   const std::string& scratch, const std::vector<std::string>& mounts) {
  // a path on one of the container's mounts (the runtime's /etc/hosts, a bind mount, a tmpfs)
  // was never the layers' content
  auto on_mount = [&](const std::string& p) {
    for (const auto& m : mounts)
      if (under(p, m)) return true;
    return false;
  };
  std::set<std::string> paths;
  for (const auto& f : summary.value("files", json::array())) {
    const std::string path = f.value("path", "");
    if (lacks_preimage(f) && path.rfind('/', 0) == 0 && !on_mount(path)) paths.insert(path);
  }
  if (paths.empty()) return json::array();
  const auto before = lower_contents(paths, lower, scratch);
  json out = json::array();
  for (const auto& p : paths) {
    auto b = before.find(p);
    out.push_back({{"path", p},
                   {"sha256_before", b == before.end() ? json(nullptr) : json(b->second)}});
  }
  return out;
}

json copy_record(const std::vector<LayerEntry>& layer, const std::vector<std::string>& lower,
                 const std::map<std::string, std::vector<std::string>>& context,
                 const std::string& scratch) {
  json added = json::array(), removed = json::array();
  std::map<std::string, const LayerEntry*> files;
  for (const auto& e : layer) {
    const std::string name = fs::path(e.path).filename().string();
    if (name.rfind(".wh.", 0) == 0) {
      if (name != ".wh..wh..opq")
        removed.push_back((fs::path(e.path).parent_path() / name.substr(4)).string());
      continue;
    }
    if (e.type == 'f' || e.type == 'l') files[e.path] = &e;
  }
  std::set<std::string> paths;
  for (const auto& [p, e] : files) paths.insert(p);
  const std::map<std::string, std::string> before = lower_contents(paths, lower, scratch);
  json replaced = json::array();
  for (const auto& [p, e] : files) {
    json f = {{"path", p}, {"type", e->type == 'l' ? "symlink" : "file"}};
    if (e->type == 'f') f["sha256"] = e->sha256;
    if (e->type == 'f')
      if (auto c = context.find(e->sha256); c != context.end()) f["context_sources"] = c->second;
    added.push_back(f);
    if (auto b = before.find(p); b != before.end())
      replaced.push_back({{"path", p}, {"sha256_before", b->second},
                          {"sha256_after", e->type == 'f' ? json(e->sha256) : json(nullptr)}});
  }
  return {{"added", added}, {"replaced", replaced}, {"removed", removed}};
}

}  // namespace stepseal::build
