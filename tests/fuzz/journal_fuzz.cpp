// journal_fuzz - the journal reader (src/journal), both file versions, and the one consumer that
// replays a journal into a summary (src/replay, src/distill): what `stepseal show` does with a
// journal an attacker may have shaped.
//
// The first byte picks how the rest is read:
//   0  the rest is the journal file itself (any bytes: magic, frames, blocks)
//   1  records for a version-1 journal, 2 for version 2, written with valid frames, checksums and
//      chain by journal::Writer::append_raw, so the fuzzer reaches the record decoders
//   3  as 2, but the writer never finishes (no trailer: a killed writer)
// Records (modes 1-3): type:u8 rver:u8 len:u16le payload[len], repeated (fuzz_util.h's
// make_seeds writes them from real journals).
// Invariants: reading is deterministic (the same result and the same summary twice); a journal
// read as intact was read to its last byte and has a trailer; a journal without a trailer is
// never intact, and its summary never says complete.
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "distill/summary.h"
#include "fuzz_util.h"
#include "journal/journal.h"
#include "replay/step_record.h"

namespace {

namespace jr = stepseal::journal;

std::string result_line(const jr::ReadResult& r) {
  return "v" + std::to_string(r.format_version) + " intact=" + std::to_string(r.intact) +
         " trailer=" + std::to_string(r.has_trailer) + " records=" + std::to_string(r.records) +
         " events=" + std::to_string(r.events) + " valid=" + std::to_string(r.valid_bytes) + "/" +
         std::to_string(r.file_bytes) + " skipped=" + std::to_string(r.skipped_records) + "+" +
         std::to_string(r.skipped_trailing_bytes) + " head=" + jr::to_hex(r.head) +
         " problem=" + r.problem;
}

// Returns the summary JSON of PATH, or "" if the file is refused as not a journal.
std::string summary_of(const std::string& path, jr::ReadResult* read, std::string* refused) {
  std::optional<stepseal::StepRecord> rec;
  try {
    rec.emplace(stepseal::load_step(path));  // throws only for a file that is not a journal
  } catch (const std::runtime_error& e) {
    *refused = e.what();
    return "";
  }
  *read = rec->read;
  // as `stepseal show` prints them: JSON (invalid UTF-8 replaced) and text; anything these
  // throw is a finding
  nlohmann::json j = stepseal::summary_json(*rec);
  (void)stepseal::summary_text(j);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_records(const std::string& path, int version, bool finish, std::string_view in) {
  jr::Writer w(path, version);
  while (in.size() >= 4) {
    uint16_t type = static_cast<uint8_t>(in[0]);
    uint16_t rver = static_cast<uint8_t>(in[1]);
    size_t len = static_cast<uint8_t>(in[2]) | (static_cast<size_t>(static_cast<uint8_t>(in[3])) << 8);
    in.remove_prefix(4);
    len = std::min(len, in.size());
    // a killed writer never wrote a trailer (mode 3): the fuzzer may not forge one there
    if (finish || type != static_cast<uint16_t>(jr::RecordType::TRAILER))
      w.append_raw(type, rver, in.data(), len);
    in.remove_prefix(len);
  }
  if (finish) w.finish(nlohmann::json::object());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] & 3;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto& s = stepseal::fuzz::scratch();
  std::string path = s.path("step.journal");
  if (mode == 0)
    s.write("step.journal", rest);
  else
    write_records(path, mode == 1 ? 1 : 2, mode != 3, rest);

  jr::ReadResult first, second;
  std::string refused;
  const std::string sum1 = summary_of(path, &first, &refused);
  const std::string sum2 = summary_of(path, &second, &refused);
  FUZZ_CHECK(sum1 == sum2, "the same journal gave two summaries");
  FUZZ_CHECK(result_line(first) == result_line(second),
             result_line(first) + "\n" + result_line(second));
  if (sum1.empty()) {
    // Only two refusals exist (step_record.h): a file that is not a journal, and a hardened
    // step's recorded policy that does not parse (its verdict cannot be judged). The writer
    // here makes journals, so only the second is allowed in modes 1-3.
    FUZZ_CHECK(mode == 0 || refused.find("the recorded policy is invalid") != std::string::npos,
               "a journal stepseal's own writer made was refused: " + refused);
    return 0;
  }
  if (first.intact) {
    FUZZ_CHECK(first.has_trailer && first.valid_bytes == first.file_bytes &&
                   first.unreadable_bytes == 0 && !first.bad_offset,
               result_line(first));
  }
  FUZZ_CHECK(first.valid_bytes + first.unreadable_bytes == first.file_bytes, result_line(first));
  auto summary = nlohmann::json::parse(sum1);  // replaced bytes are valid UTF-8
  if (!first.has_trailer) {
    FUZZ_CHECK(!first.intact, result_line(first));
    FUZZ_CHECK(summary.value("complete", false) == false, "a journal without a trailer said complete");
  }
  if (mode == 3) FUZZ_CHECK(!first.has_trailer, "an unfinished writer left a trailer");
  return 0;
}
