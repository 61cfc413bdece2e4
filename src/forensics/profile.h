// profile.h - what a recorded build did, normalised so that two runs of the same build compare
// equal (docs/replay.md, "diff"): executables by digest, inputs and outputs by digest,
// endpoints, DNS names, replaced files, sensitive paths touched, commands.
//
// Normalisation: the step's working directory (a build directory) becomes ${BUILD}; temporary
// names (/tmp/ccAbC123.s) become /tmp/*.s; /proc/<pid> becomes /proc/<pid>; pipe:[n] and the
// like lose their numbers; processes are keyed by (parent command, exe digest, argv, cwd), never
// by pid; times and the order of parallel work are not compared.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stepseal::forensics {

class Db;

struct Profile {
  // name -> the digests seen ("" when none could be taken)
  std::map<std::string, std::set<std::string>> exes, inputs, outputs;
  std::set<std::string> endpoints;  // "connect tcp 127.0.0.1:9"
  std::set<std::string> dns;        // query names
  std::set<std::string> replaced;   // "overwrite PATH", "delete PATH": content there before
  std::set<std::string> sensitive;  // "read PATH", "failed open PATH ENOENT"
  std::set<std::string> commands;   // "parent-exe > exe argv (cwd)"
  std::set<std::string> build_dirs; // the steps' working directories, as they were
  // soundness of what it was made from
  int journals = 0;
  bool conclusive = true;
  std::vector<std::string> problems;
  int builds = 1;  // a baseline: how many builds it folds
};

// One case's profile (everything in DB).
Profile profile_of(Db& db);
// A path as profiles compare it. PREFIXES: build directories, longest first.
std::string normalise_path(const std::string& path, const std::vector<std::string>& prefixes);
// An argument as profiles compare it: a path normalised, paths inside it too.
std::string normalise_arg(const std::string& arg, const std::vector<std::string>& prefixes);
// Whether a path is one a build has no business touching (keys, credentials, sockets).
bool sensitive_path(const std::string& path);

// The baseline file (stepseal baseline -o): {"format": "stepseal-baseline", ...}.
nlohmann::json profile_json(const Profile& p);
// Throws std::runtime_error naming what is wrong.
Profile profile_from_json(const nlohmann::json& j);
// A union: what any of them did is normal.
void fold(Profile& into, const Profile& other);

struct Difference {
  std::string category;  // new-exe, removed-exe, input-changed, new-input, output-changed,
                         // new-endpoint, new-dns, source-overwritten, sensitive-access,
                         // new-command; never failing: "unverified" (a name whose digest this
                         // side could not take), "build-dir" (the build ran in another directory)
  std::string what;
  std::string base, now;  // digests or details, when they apply
};
std::vector<Difference> diff(const Profile& base, const Profile& now);
const std::set<std::string>& diff_categories();  // the ones --fail-on knows
// Never failing, never counted as a difference: unverified, build-dir.
bool informational(const std::string& category);

}  // namespace stepseal::forensics
