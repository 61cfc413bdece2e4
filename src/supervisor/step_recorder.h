// step_recorder.h - what one step's records go through while it runs: its journal, its digests
// and the live judge (for --fail-fast).
//
// A StepRecorder consumes records, whatever their source: the live ring buffer (LiveSource, one
// per step of a tracer), or a synthetic source in the unit tests. It is the write side of the
// one consumer; replay (replay/step_record.h) is the read side.
//
// The journal has one writer at a time: the record consumer, the digest workers and the
// pre-image monitor all append under the recorder's lock.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "digest/digest_plan.h"
#include "digest/digest_service.h"
#include "journal/journal.h"
#include "policy/verdict.h"
#include "replay/record_source.h"

namespace stepseal {

struct RecorderOptions {
  std::string trace_path;
  bool digests = true;
  const policy::Policy* policy = nullptr;  // hardened: judge every event as it comes
  std::string workspace;
  int64_t realtime_minus_monotonic_ns = 0;
};

class StepRecorder {
 public:
  // Creates the journal. Throws std::runtime_error with a clear message.
  explicit StepRecorder(const RecorderOptions& opts);
  StepRecorder(const StepRecorder&) = delete;
  StepRecorder& operator=(const StepRecorder&) = delete;

  // Appends a HEADER, STEP_START or other JSON record. Throws on a write error.
  void append_json(journal::RecordType type, const nlohmann::json& j);
  // One event record: journaled, its digests planned, judged. Returns the violation it is, if
  // the step runs under a policy and the event breaks it. A write error is kept (failed()).
  std::optional<policy::Violation> consume(const journal::Record& r);
  // Every record the source has now. Returns the first violation among them, if any.
  std::optional<policy::Violation> consume_all(RecordSource& source);
  // Pushes buffered records to the kernel; a write error is kept.
  void flush();
  bool failed() const;
  std::string error() const;

  DigestService& digests() { return *digests_; }
  DigestPlan& plan() { return *plan_; }
  uint64_t events() const;
  uint64_t violations() const { return violations_; }
  const std::string& path() const { return opts_.trace_path; }

  // Writes STEP_END and the trailer, fsyncs and closes. Returns the chain head. Throws.
  journal::Sha256 finish(const nlohmann::json& step_end, const nlohmann::json& trailer);
  // The step never ran: the journal is removed.
  void discard();

 private:
  RecorderOptions opts_;
  mutable std::mutex mu_;
  std::unique_ptr<journal::Writer> jw_;
  std::string error_;
  std::unique_ptr<DigestService> digests_;
  std::unique_ptr<DigestPlan> plan_;
  policy::JudgeState judge_;
  uint64_t violations_ = 0;
};

}  // namespace stepseal
