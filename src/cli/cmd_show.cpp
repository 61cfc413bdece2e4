// stepseal show FILE [--format text|json]
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "distill/summary.h"
#include "util/exit_codes.h"

namespace stepseal::cli {

namespace {

int show(const std::string& file, const std::string& format) {
  if (file.empty()) return usage_error("show: no journal given");
  if (format != "text" && format != "json")
    return usage_error("show: --format must be text or json, not '" + format + "'");
  set_verbosity(0);
  StepRecord rec;
  try {
    rec = load_step(file);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kInputUnreadable;
  }
  nlohmann::json s = summary_json(rec);
  if (format == "json")
    // Paths and argv are bytes; JSON wants UTF-8. Invalid sequences become U+FFFD here, and
    // the journal keeps the exact bytes.
    std::cout << s.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  else
    std::cout << summary_text(s);
  if (!rec.read.intact) {
    spdlog::error("journal {} is damaged: {}{}; {} of {} bytes readable, {} records recovered",
                  file, rec.read.problem,
                  rec.read.bad_offset ? " at offset " + std::to_string(*rec.read.bad_offset) : "",
                  rec.read.valid_bytes, rec.read.file_bytes, rec.read.records);
    return exit_code::kJournalDamaged;
  }
  return exit_code::kOk;
}

}  // namespace

CLI::App* add_show(CLI::App& app, int& rc) {
  auto file = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("text");
  CLI::App* sub = app.add_subcommand("show", "Print the step summary a journal holds.\nstepseal show FILE [--format text|json]");
  sub->add_option("journal", *file, "FILE: the journal")->required();
  sub->add_option("--format", *format,
                  "text (default): readable; json: the summary as JSON (docs/summary.md)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->footer(
      "Exit status: 0 the journal is intact; 3 missing, unreadable or not a journal; 4 damaged\n"
      "or unfinished (the summary covers the valid prefix and says \"complete\": false);\n"
      "125 bad arguments.");
  sub->callback([file, format, &rc] { rc = show(*file, *format); });
  return sub;
}

}  // namespace stepseal::cli
