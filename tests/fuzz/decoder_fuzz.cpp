// decoder_fuzz - the raw kernel-record decoder (src/capture/decoder.h): ring-buffer bytes, as
// the probes would send them, to events.
// Invariant: a decoded event survives the journal's encoding unchanged (every field the decoder
// gives is one the journal keeps), and decoding is deterministic.
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "capture/decoder.h"
#include "fuzz_util.h"
#include "journal/journal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The ring buffer hands records 8-byte aligned; so does this harness.
  std::vector<uint64_t> aligned((size + 7) / 8);
  if (size) std::memcpy(aligned.data(), data, size);
  stepseal::DecodeError err;
  auto e = stepseal::decode_event(aligned.data(), size, &err);
  if (!e) {
    FUZZ_CHECK(!err.what.empty(), "a record refused without a reason");
    return 0;
  }
  stepseal::DecodeError err2;
  auto again = stepseal::decode_event(aligned.data(), size, &err2);
  FUZZ_CHECK(again && *again == *e, "decoding the same record twice differs");

  std::vector<std::string> strings;  // id N is strings[N - 1]: ids start at 1
  std::unordered_map<std::string, uint32_t> ids;
  auto intern = [&](const std::string& s) -> uint32_t {
    auto [it, fresh] = ids.emplace(s, static_cast<uint32_t>(strings.size() + 1));
    if (fresh) strings.push_back(s);
    return it->second;
  };
  std::string payload;
  stepseal::journal::encode_event_payload(*e, intern, &payload);
  stepseal::Event back;
  size_t trailing = 0;
  auto r = stepseal::journal::decode_event_payload(payload, strings, &back, &trailing);
  FUZZ_CHECK(r == stepseal::journal::Decoded::kOk, "a decoded event the journal cannot read back");
  FUZZ_CHECK(trailing == 0, "trailing bytes after an event this reader wrote");
  back.step = e->step;  // not journaled: a journal is one step
  FUZZ_CHECK(back == *e, "an event changed through the journal's encoding");
  return 0;
}
