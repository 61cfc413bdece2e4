// Forensic replay (docs/replay.md): stepseal index, tree, events, who, why. Each takes
// journals, build records or an index (`index -o`), checks the record first and says when an
// answer is inconclusive.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/replay_io.h"
#include "forensics/case_index.h"
#include "forensics/export.h"
#include "forensics/graph.h"
#include "forensics/report.h"
#include "forensics/queries.h"
#include "util/exit_codes.h"
#include "util/time.h"

namespace stepseal::cli {

namespace {

namespace fx = forensics;

// Opens the inputs, logging progress on long work; runs FN on the case. Exit status: FN's, 4
// if the record is damaged or incomplete (the answer says so too), 3 if an input is unusable.
int with_case(const std::string& cmd, const std::vector<std::string>& inputs,
              const std::function<void(fx::Db&)>& fn) {
  set_verbosity(0);
  if (inputs.empty()) return usage_error(cmd + ": give a journal, a build record or an index");
  std::unique_ptr<fx::Db> db;
  try {
    db = fx::open_case(inputs, [](const std::string& path, uint64_t n) {
      spdlog::info("reading {}: {} events so far", path, n);
    });
    fn(*db);
    return fx::integrity(*db).conclusive() ? exit_code::kOk : exit_code::kJournalDamaged;
  } catch (const fx::InputError& e) {
    spdlog::error("{}", e.what());
    return exit_code::kInputUnreadable;
  } catch (const std::invalid_argument& e) {
    return usage_error(cmd + ": " + e.what());
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kInternal;
  }
}

std::optional<fx::Format> parse_format(const std::string& cmd, const std::string& f, int& rc) {
  if (f == "text") return fx::Format::kText;
  if (f == "json" || f == "jsonl") return fx::Format::kJson;
  rc = usage_error(cmd + ": --format must be text or json, not '" + f + "'");
  return std::nullopt;
}

constexpr const char* kInputsHelp =
    "T|BUILD|DB: journals (stepseal run --trace), build records (stepseal build --out) or one "
    "index (stepseal index -o)";
constexpr const char* kStatusFooter =
    "Exit status: 0 answered from an intact, complete record; 4 answered, but a journal is\n"
    "damaged or incomplete (the answer starts with INCONCLUSIVE: what is absent may have\n"
    "happened unrecorded); 3 an input is missing or unusable (the message names it and, for a\n"
    "journal, the offset); 125 bad arguments. See docs/replay.md.";

}  // namespace

void add_replay(CLI::App& app, int& rc) {
  // ---- report
  {
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto out = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand(
        "report", "One self-contained HTML page (no network): summary, completeness, process "
                  "tree, timeline, network, overwrites, failures, digests.\n"
                  "stepseal report T|BUILD|DB -o REPORT.html");
    sub->add_option("inputs", *inputs, kInputsHelp)->required();
    sub->add_option("-o,--out", *out, "REPORT.html (- for standard output)")->required()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->footer(kStatusFooter);
    sub->callback([inputs, out, &rc] {
      bool ok = true;
      rc = with_case("report", *inputs, [&](fx::Db& db) {
        fx::ReportStats st;
        ok = write_output(*out, [&](std::ostream& s) { st = fx::report(db, s); });
        if (ok && *out != "-")
          spdlog::info("{}: {} processes{}", *out, st.processes,
                       st.truncated ? " (some sections list only their first 2000 rows)" : "");
      });
      if (!ok) rc = exit_code::kJournalWrite;
    });
  }
  // ---- graph
  {
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>("dot");
    auto out = std::make_shared<std::string>("-");
    auto o = std::make_shared<fx::GraphOptions>();
    CLI::App* sub = app.add_subcommand(
        "graph", "The provenance graph: processes and files as nodes, read, write, exec and "
                 "spawn as edges.\nstepseal graph T|BUILD|DB [--format dot|json] [--focus PATH] "
                 "[--collapse DIR]... [-o FILE]");
    sub->add_option("inputs", *inputs, kInputsHelp)->required();
    sub->add_option("--format", *format, "dot (default: Graphviz) or json ({nodes, edges})")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->add_option("--focus", o->focus, "PATH: only who made it and from what, recursively (as why)");
    sub->add_option("--collapse", o->collapse, "DIR: its files as one node (repeatable), e.g. /usr/include");
    sub->add_option("--depth", o->depth, "N: with --focus, how far back (default 12)");
    sub->add_flag("--system", o->system, "also files under /proc, /sys and /dev");
    sub->add_option("-o,--out", *out, "FILE (default: standard output)")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->footer(kStatusFooter);
    sub->callback([inputs, format, out, o, &rc] {
      if (*format != "dot" && *format != "json") {
        rc = usage_error("graph: --format must be dot or json, not '" + *format + "'");
        return;
      }
      if (o->depth < 1 || o->depth > 1000) {
        rc = usage_error("graph: --depth wants 1 to 1000");
        return;
      }
      for (auto& d : o->collapse) {
        while (d.size() > 1 && d.back() == '/') d.pop_back();
        if (d.empty() || d[0] != '/') {
          rc = usage_error("graph: --collapse wants an absolute directory, not '" + d + "'");
          return;
        }
      }
      o->format = *format == "json" ? fx::Format::kJson : fx::Format::kText;
      bool ok = true;
      rc = with_case("graph", *inputs, [&](fx::Db& db) {
        fx::GraphStats st;
        ok = write_output(*out, [&](std::ostream& s) { st = fx::graph(db, *o, s); });
        if (ok && *out != "-") spdlog::info("{}: {} nodes, {} edges", *out, st.nodes, st.edges);
      });
      if (!ok) rc = exit_code::kJournalWrite;
    });
  }
  // ---- export, timeline
  {
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>("jsonl");
    auto out = std::make_shared<std::string>("-");
    CLI::App* sub = app.add_subcommand(
        "export", "Every process, file, network and DNS event as one JSON object per line, with "
                  "Elastic Common Schema field names (docs/replay.md).\n"
                  "stepseal export T|BUILD|DB [--format jsonl] [-o FILE]");
    sub->add_option("inputs", *inputs, kInputsHelp)->required();
    sub->add_option("--format", *format, "jsonl (the only one)")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->add_option("-o,--out", *out, "FILE (default: standard output)")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->footer(kStatusFooter);
    sub->callback([inputs, format, out, &rc] {
      if (*format != "jsonl") {
        rc = usage_error("export: --format must be jsonl, not '" + *format + "'");
        return;
      }
      bool ok = true;
      rc = with_case("export", *inputs, [&](fx::Db& db) {
        const fx::Integrity in = fx::integrity(db);
        if (!in.conclusive()) spdlog::warn("{}", fx::integrity_line(in));
        uint64_t n = 0;
        ok = write_output(*out, [&](std::ostream& o) { n = fx::export_ecs(db, o); });
        if (ok && *out != "-") spdlog::info("{} events written to {}", n, *out);
      });
      if (!ok) rc = exit_code::kJournalWrite;
    });
  }
  {
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto out = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand(
        "timeline", "A Chrome/Perfetto trace: a track per process, its operations as instants, "
                    "spawns as flows; open it in ui.perfetto.dev or chrome://tracing.\n"
                    "stepseal timeline T|BUILD|DB -o TRACE.json");
    sub->add_option("inputs", *inputs, kInputsHelp)->required();
    sub->add_option("-o,--out", *out, "TRACE.json (- for standard output)")->required()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->footer(kStatusFooter);
    sub->callback([inputs, out, &rc] {
      bool ok = true;
      rc = with_case("timeline", *inputs, [&](fx::Db& db) {
        const fx::Integrity in = fx::integrity(db);
        if (!in.conclusive()) spdlog::warn("{}", fx::integrity_line(in));
        fx::TimelineStats st;
        ok = write_output(*out, [&](std::ostream& o) { st = fx::timeline(db, o); });
        if (ok && *out != "-")
          spdlog::info("{}: {} process tracks, {} instants, {} spawn flows", *out, st.processes,
                       st.instants, st.flows);
      });
      if (!ok) rc = exit_code::kJournalWrite;
    });
  }
  // ---- index
  {
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto out = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand(
        "index", "Put journals and build records into one SQLite index (docs/replay.md).\n"
                 "stepseal index T|BUILD... -o CASE.db");
    sub->add_option("inputs", *inputs, "T|BUILD: journals and build records")->required();
    sub->add_option("-o,--out", *out, "CASE.db: the index (created, or added to)")->required()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->footer(
        "Each journal is keyed by its chain head: indexing it again changes nothing. Query the\n"
        "index with the other replay commands or any SQLite client (schema: docs/replay.md).\n"
        "Exit status: 0 indexed (damaged or incomplete journals are indexed as far as they are\n"
        "readable, and said so); 3 an input is missing or unusable; 122 the index could not be\n"
        "written; 125 bad arguments.");
    sub->callback([inputs, out, &rc] {
      set_verbosity(0);
      try {
        fx::Db db(*out, true);
        // one transaction for the whole load: a cache that holds it spares writing pages twice
        // (a rollback journal: pages appended past the old end are not journaled, so a bulk load
        // writes each page once, and a crash leaves the index as it was)
        db.exec("PRAGMA journal_mode = DELETE; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -262144; "
                "PRAGMA temp_store = MEMORY");
        auto done = fx::index_inputs(db, *inputs, [](const std::string& p, uint64_t n) {
          spdlog::info("indexing {}: {} events so far", p, n);
        });
        for (const auto& d : done)
          std::cout << (d.already ? "already indexed " : "indexed ") << d.path << ": " << d.events
                    << " events, head " << d.head.substr(0, 16) << "\n";
        std::cout << fx::integrity_line(fx::integrity(db)) << "\n";
        rc = exit_code::kOk;
      } catch (const fx::InputError& e) {
        spdlog::error("{}", e.what());
        rc = exit_code::kInputUnreadable;
      } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        rc = exit_code::kInternal;
      }
    });
  }
  // ---- tree
  {
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>("text");
    auto o = std::make_shared<fx::TreeOptions>();
    CLI::App* sub = app.add_subcommand(
        "tree", "The process tree of each journal: argv, exe and digest, exit, duration.\n"
                "stepseal tree T|BUILD|DB [--files] [--net] [--failed] [--format text|json]");
    sub->add_option("inputs", *inputs, kInputsHelp)->required();
    sub->add_flag("--files", o->files, "each process's file operations, with digests");
    sub->add_flag("--net", o->net, "each process's network attempts");
    sub->add_flag("--failed", o->failed, "each process's failed file operations");
    sub->add_option("--format", *format, "text (default) or json")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->footer(kStatusFooter);
    sub->callback([inputs, format, o, &rc] {
      auto f = parse_format("tree", *format, rc);
      if (!f) return;
      o->format = *f;
      rc = with_case("tree", *inputs, [&](fx::Db& db) { fx::tree(db, *o, std::cout); });
    });
  }
  // ---- events
  {
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>("text");
    auto kinds = std::make_shared<std::string>();
    auto since = std::make_shared<std::string>();
    auto until = std::make_shared<std::string>();
    auto pid = std::make_shared<int64_t>(-1);
    auto glob = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand(
        "events", "Every file, network and DNS operation, in time order, filtered.\n"
                  "stepseal events T|BUILD|DB [--pid P] [--path GLOB] [--kind K,...] "
                  "[--since T] [--until T] [--format text|jsonl]");
    sub->add_option("inputs", *inputs, kInputsHelp)->required();
    sub->add_option("--pid", *pid, "P: only this pid's (as the host saw it)");
    sub->add_option("--path", *glob, "GLOB: only paths matching (SQLite GLOB: * ? [..])");
    sub->add_option("--kind", *kinds,
                    "K,...: exec, read, write, overwrite, delete, rename, net, dns, failed");
    sub->add_option("--since", *since, "T: RFC 3339 time (2026-12-05T16:00:00Z)");
    sub->add_option("--until", *until, "T: RFC 3339 time");
    sub->add_option("--format", *format, "text (default) or jsonl (one JSON object per line)")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->footer(kStatusFooter);
    sub->callback([=, &rc] {
      auto f = parse_format("events", *format, rc);
      if (!f) return;
      fx::EventFilter flt;
      flt.format = *f;
      if (*pid >= 0) flt.pid = *pid;
      flt.path_glob = *glob;
      std::stringstream ks(*kinds);
      for (std::string k; std::getline(ks, k, ',');)
        if (!k.empty()) flt.kinds.insert(k);
      for (auto [text, dst] : {std::pair{since.get(), &flt.since_ns}, std::pair{until.get(), &flt.until_ns}})
        if (!text->empty()) {
          int64_t ns = parse_rfc3339_ns(*text);
          if (ns < 0) {
            rc = usage_error("events: '" + *text + "' is not an RFC 3339 time");
            return;
          }
          *dst = ns;
        }
      rc = with_case("events", *inputs, [&](fx::Db& db) { fx::events(db, flt, std::cout); });
    });
  }
  // ---- who, why
  {
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>("text");
    auto path = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand(
        "who", "Every process that read, wrote, executed or removed PATH.\n"
               "stepseal who T|BUILD|DB PATH [--format text|json]");
    sub->add_option("inputs", *inputs, kInputsHelp)->required()->expected(1, -1);
    sub->add_option("--format", *format, "text (default) or json")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->footer(kStatusFooter);
    sub->callback([inputs, format, &rc] {
      auto f = parse_format("who", *format, rc);
      if (!f) return;
      if (inputs->size() < 2) {
        rc = usage_error("who: give the record, then PATH");
        return;
      }
      std::string p = inputs->back();
      if (p.empty() || p[0] != '/') {
        rc = usage_error("who: PATH must be absolute, as the record names it, not '" + p + "'");
        return;
      }
      std::vector<std::string> in(inputs->begin(), inputs->end() - 1);
      rc = with_case("who", in, [&](fx::Db& db) { fx::who(db, p, *f, std::cout); });
    });
  }
  {
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>("text");
    auto o = std::make_shared<fx::WhyOptions>();
    CLI::App* sub = app.add_subcommand(
        "why", "Who made PATH, from which inputs, recursively through what the record made, "
               "with digests.\nstepseal why T|BUILD|DB PATH [--depth N] [--system] "
               "[--format text|json]");
    sub->add_option("inputs", *inputs, kInputsHelp)->required()->expected(1, -1);
    sub->add_option("--depth", o->depth, "N: how far back through made inputs (default 12)");
    sub->add_flag("--system", o->system, "also inputs under /proc, /sys and /dev");
    sub->add_option("--format", *format, "text (default) or json")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sub->footer(kStatusFooter);
    sub->callback([inputs, format, o, &rc] {
      auto f = parse_format("why", *format, rc);
      if (!f) return;
      if (inputs->size() < 2) {
        rc = usage_error("why: give the record, then PATH");
        return;
      }
      if (o->depth < 1 || o->depth > 1000) {
        rc = usage_error("why: --depth wants 1 to 1000");
        return;
      }
      o->format = *f;
      std::string p = inputs->back();
      if (p.empty() || p[0] != '/') {
        rc = usage_error("why: PATH must be absolute, as the record names it, not '" + p + "'");
        return;
      }
      std::vector<std::string> in(inputs->begin(), inputs->end() - 1);
      rc = with_case("why", in, [&](fx::Db& db) { fx::why(db, p, *o, std::cout); });
    });
  }
}

}  // namespace stepseal::cli
