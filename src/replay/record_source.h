// record_source.h - where a step's records come from. A saved journal is just another source:
// `show`, `attest`, `verify` and run's hardened verdict all replay a source through the same
// consumer (step_record.h), and the unit tests feed it synthetic records the same way.
//
//   JournalSource   a journal file, streamed (bounded memory: journal::Reader)
//   SyntheticSource records built in memory (tests)
//
// Not yet a source: the live ring buffer. `run` decodes and journals events in the supervisor
// and judges them there for --fail-fast (docs/architecture.md, "Not yet").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "journal/journal.h"

namespace stepseal {

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // The next record (HEADER, STEP_START, EVENT, DIGEST, STEP_END, TRAILER), or nullopt at the
  // end of what the source can vouch for.
  virtual std::optional<journal::Record> next() = 0;
  // How complete and sound what next() gave was: intact, or where and why it stopped. Final
  // once next() has returned nullopt.
  virtual journal::ReadResult status() const = 0;
  // What the records came from, for messages ("step.trace").
  virtual std::string origin() const = 0;
};

class JournalSource : public RecordSource {
 public:
  // Throws std::runtime_error if PATH cannot be opened or is not a journal.
  explicit JournalSource(const std::string& path) : path_(path), reader_(path) {}
  std::optional<journal::Record> next() override { return reader_.next(); }
  journal::ReadResult status() const override { return reader_.result(); }
  std::string origin() const override { return path_; }

 private:
  std::string path_;
  journal::Reader reader_;
};

class SyntheticSource : public RecordSource {
 public:
  explicit SyntheticSource(std::vector<journal::Record> records, std::string origin = "synthetic")
      : records_(std::move(records)), origin_(std::move(origin)) {
    status_.intact = true;
    status_.has_trailer = true;
  }
  // Makes the source report a damaged record, as a reader stopping at a bad frame would.
  void set_damaged(const std::string& problem) {
    status_.intact = false;
    status_.problem = problem;
  }
  std::optional<journal::Record> next() override {
    if (i_ >= records_.size()) return std::nullopt;
    journal::Record& r = records_[i_++];
    status_.records++;
    if (r.event) status_.events++;
    return r;
  }
  journal::ReadResult status() const override { return status_; }
  std::string origin() const override { return origin_; }

 private:
  std::vector<journal::Record> records_;
  std::string origin_;
  size_t i_ = 0;
  journal::ReadResult status_;
};

}  // namespace stepseal
