#include "forensics/profile.h"
#include "util/json.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

#include "forensics/case_index.h"
#include "forensics/sqlite_db.h"
#include "policy/policy.h"

namespace stepseal::forensics {

using json = nlohmann::json;

namespace {

bool alnum_tail(const std::string& s, size_t n) {
  if (s.size() < n) return false;
  for (size_t i = s.size() - n; i < s.size(); i++)
    if (!isalnum(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

// A temporary name as mkstemp, mkdtemp and mktemp make them: the last 6 characters of the name
// before its extension (gcc's /tmp/ccAb3dEf.s -> cc*.s), or an extension of 6 or more (mktemp's
// tmp.Xy12abCD90 -> tmp.*). The rest of the name stays, so /tmp/payload.sh is not /tmp/cc*.sh.
std::string mask_component(const std::string& c) {
  const size_t dot = c.rfind('.');
  if (dot != std::string::npos && dot > 0) {
    const std::string stem = c.substr(0, dot), ext = c.substr(dot + 1);
    if (ext.size() >= 6 && alnum_tail(ext, ext.size())) return stem + ".*";
    if (alnum_tail(stem, 6)) return stem.substr(0, stem.size() - 6) + "*" + c.substr(dot);
    return c;
  }
  return alnum_tail(c, 6) ? c.substr(0, c.size() - 6) + "*" : c;
}

bool under(const std::string& p, const std::string& dir) {  // below it, not it
  return p.size() > dir.size() && policy::path_within(p, dir);
}

}  // namespace

std::string normalise_path(const std::string& path, const std::vector<std::string>& prefixes) {
  std::string p = path;
  for (const auto& pre : prefixes)
    if (pre.size() > 1 && policy::path_within(p, pre)) {
      p = "${BUILD}" + p.substr(pre.size());
      break;
    }
  // kernel object names: pipe:[1234], socket:[99], anon_inode:[eventfd]
  if (auto b = p.find(":["); b != std::string::npos && p.back() == ']') {
    const std::string inside = p.substr(b + 2, p.size() - b - 3);
    if (!inside.empty() && std::all_of(inside.begin(), inside.end(), ::isdigit)) p = p.substr(0, b) + ":[n]";
  }
  if (p.rfind("/proc/", 0) == 0) {
    size_t end = p.find('/', 6);
    std::string pid = p.substr(6, end == std::string::npos ? std::string::npos : end - 6);
    if (!pid.empty() && std::all_of(pid.begin(), pid.end(), ::isdigit))
      p = "/proc/<pid>" + (end == std::string::npos ? "" : p.substr(end));
  }
  for (const char* tmp : {"/tmp", "/var/tmp", "/dev/shm", "${BUILD}/tmp"})
    if (under(p, tmp)) {
      std::string out = tmp;
      std::string rest = p.substr(strlen(tmp));
      size_t i = 0;
      while (i < rest.size()) {
        size_t j = rest.find('/', i + 1);
        if (j == std::string::npos) j = rest.size();
        out += "/" + mask_component(rest.substr(i + 1, j - i - 1));
        i = j;
      }
      p = out;
      break;
    }
  return p;
}

std::string normalise_arg(const std::string& arg, const std::vector<std::string>& prefixes) {
  if (!arg.empty() && arg[0] == '/') return normalise_path(arg, prefixes);
  // a path inside an argument (-I/build/include, -fresolution=/tmp/ccX.res)
  std::string a = arg;
  // ... where it ends a path component (-I/build/include, not -I/build2/include)
  for (const auto& pre : prefixes) {
    if (pre.size() <= 1) continue;
    for (size_t at = a.find(pre); at != std::string::npos; at = a.find(pre, at + 1)) {
      const size_t end = at + pre.size();
      if (end == a.size() || a[end] == '/' || a[end] == ' ' || a[end] == ',' || a[end] == ':' ||
          a[end] == '=' || a[end] == ';')
        a.replace(at, pre.size(), "${BUILD}");
    }
  }
  for (const char* tmp : {"/tmp/", "/var/tmp/"}) {
    for (size_t at = a.find(tmp); at != std::string::npos; at = a.find(tmp, at + 1)) {
      size_t start = at + strlen(tmp), end = a.find_first_of("/ ,:=", start);
      if (end == std::string::npos) end = a.size();
      const std::string masked = mask_component(a.substr(start, end - start));
      a.replace(start, end - start, masked);
    }
  }
  return a;
}

bool sensitive_path(const std::string& path) {
  static const char* kParts[] = {"/.ssh/", "/.gnupg/", "/.aws/", "/.azure/", "/.kube/config",
                                 "/.docker/config.json", "/.netrc", "/.git-credentials",
                                 "/.npmrc", "/.pypirc", "/.config/gcloud/", "/run/secrets/",
                                 "/etc/sudoers.d/", "/.cargo/credentials", "/.config/gh/hosts.yml",
                                 "/containers/auth.json", "/etc/ssh/ssh_host_"};
  static const char* kEnds[] = {"/.ssh", "/.gnupg", "/environ", "/podman.sock", "/buildkitd.sock",
                                "/crio.sock", "/containerd.sock", "/docker.sock"};
  for (const char* s : kEnds) {
    const size_t n = strlen(s);
    if (path.size() >= n && path.compare(path.size() - n, n, s) == 0) return true;
  }
  for (const char* s : kParts)
    if (path.find(s) != std::string::npos) return true;
  static const char* kExact[] = {"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
                                 "/etc/sudoers", "/root/.bash_history",
                                 "/var/run/docker.sock", "/run/docker.sock",
                                 "/run/containerd/containerd.sock", "/run/podman/podman.sock"};
  for (const char* s : kExact)
    if (path == s) return true;
  const std::string base = path.substr(path.rfind('/') + 1);
  for (const char* k : {"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"})
    if (base.rfind(k, 0) == 0) return true;
  return false;
}

Profile profile_of(Db& db) {
  Profile p;
  const Integrity in = integrity(db);
  p.journals = in.journals;
  p.conclusive = in.conclusive();
  p.problems = in.problems;
  if (in.lost_events) p.problems.push_back(std::to_string(in.lost_events) + " events lost");
  if (in.gaps) p.problems.push_back(std::to_string(in.gaps) + " gaps");
  // build directories: the steps' working directories (not "/": a container RUN's)
  std::vector<std::string> prefixes;
  {
    Stmt s = db.prepare("SELECT DISTINCT cwd FROM journal WHERE cwd IS NOT NULL");
    while (s.step())
      if (s.text(0).size() > 1) prefixes.push_back(s.text(0));
    std::sort(prefixes.begin(), prefixes.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  }
  p.build_dirs.insert(prefixes.begin(), prefixes.end());
  auto norm = [&](const std::string& x) { return normalise_path(x, prefixes); };
  {
    Stmt s = db.prepare("SELECT exe, coalesce(exe_sha256, '') FROM process WHERE exe IS NOT NULL");
    while (s.step()) p.exes[norm(s.text(0))].insert(s.text(1));
  }
  // files: not the kernel's pseudo-files and devices (/dev/null read is no input)
  const char* kFiles =
      " WHERE path NOT GLOB '/proc/*' AND path NOT GLOB '/sys/*' AND "
      "(path NOT GLOB '/dev/*' OR path GLOB '/dev/shm/*')";
  {
    Stmt s = db.prepare(std::string("SELECT path, coalesce(sha256, '') FROM inputs") + kFiles);
    while (s.step()) p.inputs[norm(s.text(0))].insert(s.text(1));
  }
  {
    Stmt s = db.prepare(std::string("SELECT path, coalesce(sha256, '') FROM outputs") + kFiles);
    while (s.step()) p.outputs[norm(s.text(0))].insert(s.text(1));
  }
  {
    Stmt s = db.prepare(
        "SELECT DISTINCT op, coalesce(protocol, ''), address, port FROM network "
        "WHERE address IS NOT NULL AND address != '' AND op IN ('connect', 'sendto')");
    while (s.step())
      p.endpoints.insert(s.text(0) + " " + s.text(1) + " " + s.text(2) +
                         (s.is_null(3) ? "" : ":" + std::to_string(s.integer(3))));
  }
  {
    Stmt s = db.prepare("SELECT DISTINCT name FROM dns WHERE name IS NOT NULL AND name != ''");
    while (s.step()) p.dns.insert(s.text(0));
  }
  {
    // content that was there before the step and that it changed or removed, however: replaced
    // (O_TRUNC, rename onto it), deleted (also when made again afterwards), or changed in place
    // (a write without O_TRUNC, a truncate, a shared mapping): a pre-image, or a change of a file
    // the step did not make first
    Stmt s = db.prepare(
        "SELECT path, access, before_sha256 IS NOT NULL FROM file WHERE before_sha256 IS NOT NULL "
        "OR ',' || access || ',' GLOB '*,overwrite,*' OR ',' || access || ',' GLOB '*,delete,*' "
        "OR ',' || access || ',' GLOB '*,rename_to,*' OR ',' || access || ',' GLOB '*,write,*' "
        "OR ',' || access || ',' GLOB '*,mmap_write,*'");
    while (s.step()) {
      const std::string a = "," + s.text(1) + ",";
      const std::string path = norm(s.text(0));
      const bool created = a.find(",create,") != std::string::npos;
      const bool deleted = a.find(",delete,") != std::string::npos;
      const bool pre = s.integer(2) != 0;
      // there before the step: a pre-image was taken, or the step did not make it (a file made
      // and removed by the step, a temporary, has neither)
      if (!pre && created) continue;
      if (deleted) {
        p.replaced.insert("delete " + path);
      } else {
        if (a.find(",overwrite,") != std::string::npos || a.find(",rename_to,") != std::string::npos)
          p.replaced.insert("overwrite " + path);
        else if (a.find(",write,") != std::string::npos || a.find(",mmap_write,") != std::string::npos)
          p.replaced.insert("modify " + path);
      }
    }
  }
  {
    Stmt s = db.prepare("SELECT DISTINCT op, path, coalesce(call, ''), coalesce(errno, '') FROM file_op");
    while (s.step()) {
      if (!sensitive_path(s.text(1))) continue;
      p.sensitive.insert(s.text(0) == "failed"
                             ? "failed " + s.text(2) + " " + norm(s.text(1)) + " " + s.text(3)
                             : s.text(0) + " " + norm(s.text(1)));
    }
  }
  {
    // commands: keyed by what ran them, what they are and how they were called, never by pid
    Stmt s = db.prepare(
        "SELECT coalesce(q.exe, ''), c.exe, coalesce(c.exe_sha256, ''), c.argv, coalesce(c.cwd, '') "
        "FROM process c LEFT JOIN process q ON q.id = c.parent WHERE c.exe IS NOT NULL");
    while (s.step()) {
      json argv = util::parse_bounded_json(s.text(3).empty() ? "[]" : s.text(3));
      std::string args;
      if (argv.is_array())
        for (size_t i = 1; i < argv.size(); i++)
          if (argv[i].is_string()) args += " " + normalise_arg(argv[i].get<std::string>(), prefixes);
      p.commands.insert(norm(s.text(0)) + " > " + norm(s.text(1)) + "@" + s.text(2).substr(0, 12) +
                        args + " (" + norm(s.text(4)) + ")");
    }
  }
  return p;
}

json profile_json(const Profile& p) {
  auto sets = [](const std::map<std::string, std::set<std::string>>& m) {
    json o = json::object();
    for (const auto& [k, v] : m) o[k] = v;
    return o;
  };
  return {{"format", "stepseal-baseline"}, {"version", 1},  {"builds", p.builds},
          {"journals", p.journals},        {"conclusive", p.conclusive},
          {"problems", p.problems},        {"exes", sets(p.exes)},
          {"inputs", sets(p.inputs)},      {"outputs", sets(p.outputs)},
          {"endpoints", p.endpoints},      {"dns", p.dns},
          {"replaced", p.replaced},        {"sensitive", p.sensitive},
          {"commands", p.commands},        {"build_dirs", p.build_dirs}};
}

Profile profile_from_json(const json& j) {
  if (!j.is_object() || j.value("format", "") != "stepseal-baseline")
    throw std::runtime_error("not a stepseal baseline (\"format\": \"stepseal-baseline\")");
  if (j.value("version", 0) != 1)
    throw std::runtime_error("baseline version " + j.value("version", json(0)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                             " is not one this stepseal reads (1)");
  Profile p;
  auto maps = [&](const char* key, std::map<std::string, std::set<std::string>>& out) {
    const json& o = j.value(key, json::object());
    if (!o.is_object()) throw std::runtime_error(std::string("baseline: \"") + key + "\" is not an object");
    for (const auto& [k, v] : o.items()) {
      if (!v.is_array()) throw std::runtime_error(std::string("baseline: \"") + key + "\"." + k + " is not a list");
      for (const auto& d : v) {
        if (!d.is_string()) throw std::runtime_error(std::string("baseline: a digest in \"") + key + "\" is not a string");
        out[k].insert(d.get<std::string>());
      }
    }
  };
  auto sets = [&](const char* key, std::set<std::string>& out) {
    const json& a = j.value(key, json::array());
    if (!a.is_array()) throw std::runtime_error(std::string("baseline: \"") + key + "\" is not a list");
    for (const auto& x : a) {
      if (!x.is_string()) throw std::runtime_error(std::string("baseline: \"") + key + "\" holds a non-string");
      out.insert(x.get<std::string>());
    }
  };
  maps("exes", p.exes);
  maps("inputs", p.inputs);
  maps("outputs", p.outputs);
  sets("endpoints", p.endpoints);
  sets("dns", p.dns);
  sets("replaced", p.replaced);
  sets("sensitive", p.sensitive);
  sets("commands", p.commands);
  sets("build_dirs", p.build_dirs);
  p.builds = j.value("builds", 1);
  p.journals = j.value("journals", 0);
  p.conclusive = j.value("conclusive", false);
  for (const auto& x : j.value("problems", json::array()))
    if (x.is_string()) p.problems.push_back(x);
  return p;
}

void fold(Profile& into, const Profile& o) {
  using Map = std::map<std::string, std::set<std::string>>;
  for (auto [to, from] : {std::pair<Map*, const Map*>{&into.exes, &o.exes},
                          {&into.inputs, &o.inputs}, {&into.outputs, &o.outputs}})
    for (const auto& [k, v] : *from) (*to)[k].insert(v.begin(), v.end());
  using Set = std::set<std::string>;
  for (auto [to, from] : {std::pair<Set*, const Set*>{&into.endpoints, &o.endpoints},
                          {&into.dns, &o.dns}, {&into.replaced, &o.replaced},
                          {&into.sensitive, &o.sensitive}, {&into.commands, &o.commands},
                          {&into.build_dirs, &o.build_dirs}})
    to->insert(from->begin(), from->end());
  into.builds += o.builds;
  into.journals += o.journals;
  into.conclusive = into.conclusive && o.conclusive;
  into.problems.insert(into.problems.end(), o.problems.begin(), o.problems.end());
}

bool informational(const std::string& category) {
  return category == "unverified" || category == "build-dir";
}

const std::set<std::string>& diff_categories() {
  static const std::set<std::string> c = {"new-exe",       "removed-exe",  "input-changed",
                                          "new-input",     "removed-input", "output-changed",
                                          "new-output",    "new-endpoint",  "new-dns",
                                          "source-overwritten", "sensitive-access", "new-command"};
  return c;
}

std::vector<Difference> diff(const Profile& base, const Profile& now) {
  std::vector<Difference> out;
  auto join = [](const std::set<std::string>& s) {
    std::string r;
    for (const auto& x : s) r += (r.empty() ? "" : ",") + (x.empty() ? std::string("(no digest)") : x);
    return r;
  };
  // a digest the base never saw for a name it knows
  auto changed = [&](const char* cat, const std::map<std::string, std::set<std::string>>& b,
                     const std::map<std::string, std::set<std::string>>& n, const char* new_cat) {
    for (const auto& [k, digests] : n) {
      auto it = b.find(k);
      if (it == b.end()) {
        if (new_cat) out.push_back({new_cat, k, "", join(digests)});
        continue;
      }
      std::set<std::string> fresh;
      bool unknown = false;
      for (const auto& d : digests) {
        if (d.empty()) unknown = true;  // no digest could be taken: neither same nor changed
        else if (!it->second.count(d)) fresh.insert(d);
      }
      if (!fresh.empty()) out.push_back({cat, k, join(it->second), join(fresh)});
      else if (unknown) out.push_back({"unverified", k, join(it->second), "(no digest)"});
    }
  };
  changed("new-exe", base.exes, now.exes, "new-exe");
  for (const auto& [k, d] : base.exes)
    if (!now.exes.count(k)) out.push_back({"removed-exe", k, join(d), ""});
  changed("input-changed", base.inputs, now.inputs, "new-input");
  changed("output-changed", base.outputs, now.outputs, "new-output");
  // what BASE read that NEW did not (a source that NEW changed first no longer is an input)
  for (const auto& [k, d] : base.inputs)
    if (!now.inputs.count(k)) out.push_back({"removed-input", k, join(d), ""});
  auto added = [&](const char* cat, const std::set<std::string>& b, const std::set<std::string>& n) {
    for (const auto& x : n)
      if (!b.count(x)) out.push_back({cat, x, "", ""});
  };
  added("new-endpoint", base.endpoints, now.endpoints);
  added("new-dns", base.dns, now.dns);
  added("source-overwritten", base.replaced, now.replaced);
  added("sensitive-access", base.sensitive, now.sensitive);
  added("new-command", base.commands, now.commands);
  // never failing: the build ran somewhere else (its paths are compared as ${BUILD})
  if (!base.build_dirs.empty() && !now.build_dirs.empty() && base.build_dirs != now.build_dirs)
    for (const auto& d : now.build_dirs)
      if (!base.build_dirs.count(d)) out.push_back({"build-dir", d, join(base.build_dirs), ""});
  return out;
}

}  // namespace stepseal::forensics
