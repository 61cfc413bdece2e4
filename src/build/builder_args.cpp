#include "build/builder_args.h"

#include <algorithm>
#include <cstdlib>
#include <set>

namespace stepseal::build {

namespace {

std::string base_name(const std::string& p) {
  auto s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// The builders' global options that take a value in the next argument (before the subcommand).
const std::set<std::string> kGlobalWithValue = {
    "--root", "--runroot", "--storage-driver", "--storage-opt", "--log-level",
    "--registries-conf", "--registries-conf-dir", "--short-name-alias-conf", "--cgroup-manager",
    "--userns-uid-map", "--userns-gid-map", "--cpu-profile", "--memory-profile", "--runtime",
    "--conmon", "--network-cmd-path", "--events-backend", "--tmpdir", "--url", "--connection",
    "--identity", "--hooks-dir", "--module", "--volumepath", "--imagestore", "--network-config-dir",
    "--config", "--log-level", "--out"};

// The build subcommand's options that take a value (so that a value is never taken for an
// option, and an option's value is found wherever the user put it).
const std::set<std::string> kBuildWithValue = {
    "-f", "--file", "-t", "--tag", "--isolation", "--runtime", "--runtime-flag", "--build-arg",
    "--build-arg-file", "--target", "--platform", "--arch", "--os", "--variant", "--network",
    "--format", "--iidfile", "--authfile", "--cert-dir", "--creds", "--signature-policy",
    "--secret", "--ssh", "--label", "--annotation", "--cache-from", "--cache-to", "--cache-ttl",
    "--cgroup-parent", "--cpu-period", "--cpu-quota", "--cpu-shares", "--cpuset-cpus",
    "--cpuset-mems", "--memory", "--memory-swap", "--shm-size", "--ulimit", "--volume", "-v",
    "--add-host", "--cap-add", "--cap-drop", "--device", "--dns", "--dns-option", "--dns-search",
    "--env", "--from", "--ipc", "--jobs", "--logfile", "--manifest", "--pid", "--security-opt",
    "--sign-by", "--timestamp", "--userns", "--userns-uid-map", "--userns-gid-map",
    "--userns-uid-map-user", "--userns-gid-map-group", "--uts", "--decryption-key",
    "--hooks-dir", "--os-feature", "--os-version", "--retry", "--retry-delay",
    "--unsetenv", "--unsetlabel", "--group-add", "--cw", "--build-context", "--layer-label",
    "--output", "-o", "--cpp-flag", "--rusage-logfile"};
// (--pull takes its value only after '=': "--pull" alone is "--pull=true")

// as the builders read a boolean: "true" in any case, or "1"
bool is_true(std::string v) {
  for (auto& c : v) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return v == "true" || v == "1";
}

}  // namespace

BuilderPlan plan_builder(const std::vector<std::string>& argv, const std::string& shim,
                         const std::string& iidfile) {
  if (argv.empty()) throw BuilderArgsError("no builder command given (stepseal build ... -- buildah bud ...)");
  BuilderPlan plan;
  plan.builder = base_name(argv[0]);
  if (plan.builder != "buildah" && plan.builder != "podman")
    throw BuilderArgsError("stepseal build runs buildah or podman; '" + argv[0] +
                           "' is neither (docs/build.md)");
  // the subcommand: the first argument that is neither a global option nor an option's value
  size_t sub = 1;
  while (sub < argv.size() && !argv[sub].empty() && argv[sub][0] == '-') {
    const std::string& a = argv[sub];
    if (a.find('=') == std::string::npos && kGlobalWithValue.count(a)) sub++;
    sub++;
  }
  if (sub >= argv.size())
    throw BuilderArgsError("no build subcommand: stepseal build wraps '" + plan.builder +
                           (plan.builder == "buildah" ? " bud'" : " build'"));
  const std::string& cmd = argv[sub];
  const bool build_cmd = cmd == "build" || (plan.builder == "buildah" && cmd == "bud");
  if (!build_cmd)
    throw BuilderArgsError("stepseal build wraps '" + plan.builder + " " +
                           (plan.builder == "buildah" ? "bud" : "build") + "', not '" +
                           plan.builder + " " + cmd + "'");
  for (size_t i = 1; i < sub; i++) {
    if (argv[i] == "--runtime" || argv[i].rfind("--runtime=", 0) == 0)
      throw BuilderArgsError("give --runtime after '" + cmd + "', not before it");
    if (argv[i] == "-r" || argv[i] == "--remote" || argv[i].rfind("--remote=", 0) == 0 ||
        argv[i].rfind("--url", 0) == 0 || argv[i] == "-c" || argv[i].rfind("--connection", 0) == 0)
      throw BuilderArgsError("a remote builder runs its RUN steps on another machine, where "
                             "stepseal cannot follow them");
  }
  if (plan.builder == "podman" && std::getenv("CONTAINER_HOST"))
    throw BuilderArgsError("CONTAINER_HOST makes podman a remote client: its RUN steps would run "
                           "where stepseal cannot follow them; unset it");

  // The build's own options. Every argument up to a "--" is looked at, not only those before the
  // context directory: podman takes options after it too. The options stepseal sets itself
  // (--isolation, --layers, --runtime) are checked, then removed: stepseal's own come first, and
  // no later one may override them (the builders take the last value of a repeated option).
  std::string isolation, layers;
  std::vector<std::string> kept;
  size_t end = argv.size();
  for (size_t i = sub + 1; i < argv.size(); i++) {
    const std::string& a = argv[i];
    if (a == "--") {
      end = i;
      break;
    }
    if (a.empty() || a[0] != '-') {
      kept.push_back(a);  // the context directory
      plan.context = a;
      continue;
    }
    std::string name = a, value;
    bool has_value = false;
    std::vector<std::string> raw = {a};
    if (auto eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    } else if (kBuildWithValue.count(a) && i + 1 < argv.size()) {
      value = argv[++i];
      raw.push_back(value);
      has_value = true;
    }
    if (name == "--squash" || name == "--squash-all")
      throw BuilderArgsError(name + " merges the instructions' layers: stepseal build needs one "
                             "layer per instruction to match steps to layers");
    if (name == "--omit-history")
      throw BuilderArgsError("--omit-history drops the history that maps instructions to layers");
    if (name == "--timestamp")
      throw BuilderArgsError("--timestamp sets every history time: stepseal build tells this "
                             "build's instructions from the base image's by their time");
    if (name == "--no-cache") plan.no_cache = !has_value || is_true(value);
    if (name == "--runtime-flag")
      throw BuilderArgsError("--runtime-flag is not passed through stepseal's runtime shim yet");
    if (name == "--pid" && value != "private")
      throw BuilderArgsError("--pid " + value + ": a RUN must have a pid namespace of its own, so "
                             "that its end ends all of its processes");
    if (name == "--jobs" && value != "1")
      throw BuilderArgsError("--jobs " + value + ": parallel stages are not supported yet");
    if (name == "--iidfile") plan.iidfile = value;
    if (name == "--isolation" || name == "--layers" || name == "--runtime") {
      if (name == "--isolation") isolation = value;
      if (name == "--layers") layers = has_value ? value : "true";
      if (name == "--runtime") plan.user_runtime = value;
      continue;  // stepseal sets these itself
    }
    kept.insert(kept.end(), raw.begin(), raw.end());
  }
  if (!isolation.empty() && isolation != "oci")
    throw BuilderArgsError("--isolation " + isolation +
                           " is not traced: stepseal build runs every RUN through runc "
                           "(--isolation oci)");
  if (plan.builder == "buildah") {
    const char* env = std::getenv("BUILDAH_LAYERS");
    if (layers.empty() && !(env && is_true(env)))
      throw BuilderArgsError("buildah bud without --layers commits the instructions as one layer: "
                             "add --layers, so that every step gets its own layer");
  }
  if (!layers.empty() && !is_true(layers))
    throw BuilderArgsError("--layers=" + layers + ": stepseal build needs one layer per step");
  if (!plan.user_runtime.empty() && base_name(plan.user_runtime) != "runc")
    throw BuilderArgsError("--runtime " + plan.user_runtime + ": stepseal build follows "
                           "containers of runc only (a sandboxed runtime's pid is not the step's)");

  // the command: stepseal's options first (environment defaults such as BUILDAH_ISOLATION lose
  // to options), then the user's, less the ones stepseal sets
  for (size_t i = 1; i < sub; i++) plan.global_args.push_back(argv[i]);
  for (size_t i = 0; i <= sub; i++) plan.argv.push_back(argv[i]);
  plan.argv.push_back("--isolation=oci");
  plan.argv.push_back("--layers=true");
  plan.argv.push_back("--runtime=" + shim);
  if (plan.iidfile.empty() && !iidfile.empty()) {
    plan.iidfile = iidfile;
    plan.argv.push_back("--iidfile=" + iidfile);
  }
  plan.argv.insert(plan.argv.end(), kept.begin(), kept.end());
  for (size_t i = end; i < argv.size(); i++) plan.argv.push_back(argv[i]);
  return plan;
}

}  // namespace stepseal::build
