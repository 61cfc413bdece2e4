// stepseal diff BASE NEW and stepseal baseline (docs/replay.md, "diff"): what one build did that
// another (or a baseline of good builds) did not, normalised so that two runs of the same build
// compare equal.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/replay_io.h"
#include "forensics/case_index.h"
#include "forensics/profile.h"
#include "forensics/text.h"
#include "util/exit_codes.h"
#include "util/file_io.h"
#include "util/json.h"

namespace stepseal::cli {

namespace {

namespace fx = forensics;
using json = nlohmann::json;

// One side: a baseline file, or a journal, build record or index. Throws fx::InputError.
fx::Profile side(const std::string& path, bool baseline_allowed) {
  struct stat st{};
  if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && !fx::is_sqlite_file(path)) {
    std::ifstream in(path, std::ios::binary);
    char c = 0;
    in >> c;  // a baseline is JSON; a journal starts with its magic
    if (c == '{') {
      if (!baseline_allowed)
        throw fx::InputError(path + ": a baseline is what NEW is compared with, not NEW: give a record");
      try {
        return fx::profile_from_json(util::parse_bounded_json(util::read_file(path, 256u << 20)));
      } catch (const std::exception& e) {
        throw fx::InputError(path + ": " + e.what());
      }
    }
  }
  auto db = fx::open_case({path}, [](const std::string& p, uint64_t n) {
    spdlog::info("reading {}: {} events so far", p, n);
  });
  return fx::profile_of(*db);
}

std::string soundness(const fx::Profile& p) {
  if (p.conclusive)
    return std::to_string(p.journals) + " journal(s)" +
           (p.builds > 1 ? " from " + std::to_string(p.builds) + " builds" : "") + ", intact and complete";
  std::string s = "INCONCLUSIVE: ";
  for (size_t i = 0; i < p.problems.size(); i++) s += (i ? "; " : "") + p.problems[i];
  if (p.problems.empty()) s += "the record is damaged or incomplete";
  return fx::clean(s);
}

}  // namespace

void add_diff(CLI::App& app, int& rc) {
  {
    auto base = std::make_shared<std::string>();
    auto now = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("text");
    auto fail_on = std::make_shared<std::string>("all");
    CLI::App* sub = app.add_subcommand(
        "diff", "What NEW did that BASE did not: executables, inputs and outputs by digest, "
                "endpoints, DNS names, replaced files, sensitive paths, commands.\n"
                "stepseal diff BASE NEW [--fail-on CATEGORY,...|all|none] [--format text|json]");
    sub->add_option("base", *base, "BASE: a journal, build record, index or baseline (stepseal baseline)")->required();
    sub->add_option("new", *now, "NEW: a journal, build record or index")->required();
    sub->add_option("--fail-on", *fail_on,
                    "which differences make the exit status 1: all (default), none, or a list of "
                    "new-exe, removed-exe, input-changed, new-input, output-changed, new-endpoint, "
                    "new-dns, source-overwritten, sensitive-access, new-command")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->add_option("--format", *format, "text (default) or json")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->footer(
        "Paths are normalised first: each step's working directory becomes ${BUILD}, temporary\n"
        "names /tmp/*, /proc/<pid>; processes are keyed by parent, exe digest, argv and cwd.\n"
        "Exit status: 0 no difference matching --fail-on, both records intact and complete;\n"
        "1 differences matching --fail-on; 4 none, but a record is damaged or incomplete (the\n"
        "answer is inconclusive); 3 an input is missing or unusable; 125 bad arguments.");
    sub->callback([=, &rc] {
      set_verbosity(0);
      if (*format != "text" && *format != "json") {
        rc = usage_error("diff: --format must be text or json, not '" + *format + "'");
        return;
      }
      std::set<std::string> failing;
      if (*fail_on == "all") failing = fx::diff_categories();
      else if (*fail_on != "none") {
        std::stringstream ss(*fail_on);
        for (std::string c; std::getline(ss, c, ',');) {
          if (c.empty()) continue;
          if (!fx::diff_categories().count(c)) {
            rc = usage_error("diff: --fail-on: unknown category '" + c + "'");
            return;
          }
          failing.insert(c);
        }
      }
      fx::Profile b, n;
      if (auto failed = replay_failure([&] {
            b = side(*base, true);
            n = side(*now, false);
          })) {
        rc = *failed;
        return;
      }
      const auto diffs = fx::diff(b, n);
      size_t matching = 0, notes = 0;
      for (const auto& d : diffs) {
        matching += failing.count(d.category);
        notes += fx::informational(d.category);
      }
      const bool conclusive = b.conclusive && n.conclusive;
      if (*format == "json") {
        json list = json::array();
        for (const auto& d : diffs)
          list.push_back({{"category", d.category}, {"what", d.what},
                          {"base", d.base.empty() ? json(nullptr) : json(d.base)},
                          {"new", d.now.empty() ? json(nullptr) : json(d.now)},
                          {"fails", failing.count(d.category) > 0}});
        std::cout << json({{"base", {{"summary", soundness(b)}, {"conclusive", b.conclusive}}},
                           {"new", {{"summary", soundness(n)}, {"conclusive", n.conclusive}}},
                           {"conclusive", conclusive},
                           {"differences", list},
                           {"failing", matching}})
                         .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                  << "\n";
      } else {
        std::cout << "base: " << soundness(b) << "\nnew:  " << soundness(n) << "\n";
        for (const auto& d : diffs) {
          std::cout << (failing.count(d.category) ? "! " : fx::informational(d.category) ? "  note: " : "  ")
                    << d.category << "  " << fx::clean(d.what);
          if (!d.base.empty() || !d.now.empty())
            std::cout << "  (" << (d.base.empty() ? "-" : d.base.substr(0, 16)) << " -> "
                      << (d.now.empty() ? "-" : d.now.substr(0, 16)) << ")";
          std::cout << "\n";
        }
        std::cout << diffs.size() - notes << " difference(s), " << matching << " matching --fail-on"
                  << (conclusive ? "" : "; INCONCLUSIVE: a record is damaged or incomplete, so "
                                        "what it lacks may have happened")
                  << "\n";
      }
      rc = matching ? 1 : conclusive ? exit_code::kOk : exit_code::kJournalDamaged;
    });
  }
  {
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto out = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand(
        "baseline", "Fold several good builds into one profile, for diff: what any of them did "
                    "is normal.\nstepseal baseline T|BUILD|DB... -o BASE.json");
    sub->add_option("inputs", *inputs, "T|BUILD|DB: one per build")->required();
    sub->add_option("-o,--out", *out, "BASE.json: the baseline to write")->required()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->footer(
        "Exit status: 0 written from intact, complete records; 4 written, but a record is\n"
        "damaged or incomplete (the baseline says so: diff against it is inconclusive); 3 an\n"
        "input is missing or unusable; 121 the file could not be written; 125 bad arguments.");
    sub->callback([inputs, out, &rc] {
      set_verbosity(0);
      fx::Profile all;
      if (auto failed = replay_failure([&] {
            for (size_t i = 0; i < inputs->size(); i++) {
              fx::Profile p = side((*inputs)[i], true);
              if (i == 0) all = std::move(p);
              else fx::fold(all, p);
            }
          })) {
        rc = *failed;
        return;
      }
      if (!write_output(*out, [&](std::ostream& o) { o << fx::profile_json(all).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n"; })) {
        rc = exit_code::kJournalWrite;
        return;
      }
      spdlog::info("baseline of {} build(s), {} journal(s): {}", all.builds, all.journals, *out);
      rc = all.conclusive ? exit_code::kOk : exit_code::kJournalDamaged;
    });
  }
}

}  // namespace stepseal::cli
