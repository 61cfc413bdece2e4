// live_source.h - the live ring buffer as a record source.
//
// The tracer host decodes each kernel record and pushes it to the source of its step; the step's
// consumer (StepRecorder) pulls them with next(), the same interface a journal or a synthetic
// source offers (replay/record_source.h). next() returns nullopt when nothing is waiting: the
// step is still running, and more may come after the next drain of the ring.
#pragma once

#include <deque>
#include <optional>
#include <string>

#include "capture/event.h"
#include "replay/record_source.h"

namespace stepseal {

class LiveSource : public RecordSource {
 public:
  explicit LiveSource(std::string origin) : origin_(std::move(origin)) {
    status_.intact = true;
    status_.format_version = journal::kFormatVersion;
  }
  void push(Event e) { queue_.push_back(std::move(e)); }
  // A kernel record the decoder refused: the step's record is then incomplete (counted as
  // lost_decode by the host).
  void note_undecodable(const std::string& what) {
    status_.intact = false;
    status_.problem = "undecodable kernel record: " + what;
  }
  std::optional<journal::Record> next() override {
    if (queue_.empty()) return std::nullopt;
    journal::Record r{journal::RecordType::EVENT, 0, {}, std::move(queue_.front())};
    queue_.pop_front();
    status_.records++;
    status_.events++;
    return r;
  }
  journal::ReadResult status() const override { return status_; }
  std::string origin() const override { return origin_; }
  size_t pending() const { return queue_.size(); }

 private:
  std::string origin_;
  std::deque<Event> queue_;
  journal::ReadResult status_;
};

}  // namespace stepseal
