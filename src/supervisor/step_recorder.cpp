#include "supervisor/step_recorder.h"

#include <unistd.h>

namespace stepseal {

StepRecorder::StepRecorder(const RecorderOptions& opts) : opts_(opts) {
  jw_ = std::make_unique<journal::Writer>(opts_.trace_path);
  digests_ = std::make_unique<DigestService>(2, [this](const DigestRecord& rec) {
    std::lock_guard lk(mu_);
    try {
      if (jw_) jw_->append_json(journal::RecordType::DIGEST, encode_digest(rec));
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  });
  plan_ = std::make_unique<DigestPlan>(digests_.get(), opts_.realtime_minus_monotonic_ns);
}

void StepRecorder::append_json(journal::RecordType type, const nlohmann::json& j) {
  std::lock_guard lk(mu_);
  jw_->append_json(type, j);
}

std::optional<policy::Violation> StepRecorder::consume(const journal::Record& r) {
  if (!r.event) {
    append_json(r.type, r.json);
    return std::nullopt;
  }
  const Event& ev = *r.event;
  {
    std::lock_guard lk(mu_);
    try {
      jw_->append_event(ev);
    } catch (const std::exception& e) {
      error_ = e.what();
      return std::nullopt;
    }
  }
  if (opts_.digests) plan_->on_event(ev);
  if (!opts_.policy) return std::nullopt;
  auto v = policy::judge_event(*opts_.policy, opts_.workspace, ev, &judge_);
  if (v) violations_++;
  return v;
}

std::optional<policy::Violation> StepRecorder::consume_all(RecordSource& source) {
  std::optional<policy::Violation> first;
  while (auto r = source.next()) {
    auto v = consume(*r);
    if (v && !first) first = std::move(v);
  }
  return first;
}

void StepRecorder::flush() {
  std::lock_guard lk(mu_);
  try {
    jw_->flush();
  } catch (const std::exception& e) {
    error_ = e.what();
  }
}

bool StepRecorder::failed() const {
  std::lock_guard lk(mu_);
  return !error_.empty();
}

std::string StepRecorder::error() const {
  std::lock_guard lk(mu_);
  return error_;
}

uint64_t StepRecorder::events() const {
  std::lock_guard lk(mu_);
  return jw_ ? jw_->events() : 0;
}

journal::Sha256 StepRecorder::finish(const nlohmann::json& step_end,
                                     const nlohmann::json& trailer) {
  std::lock_guard lk(mu_);
  jw_->append_json(journal::RecordType::STEP_END, step_end);
  return jw_->finish(trailer);
}

void StepRecorder::discard() {
  std::lock_guard lk(mu_);
  jw_.reset();
  unlink(opts_.trace_path.c_str());
}

}  // namespace stepseal
