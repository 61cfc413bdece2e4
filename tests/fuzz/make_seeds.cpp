// make_seeds DIR: writes the harnesses' seed corpora (DIR/<harness>/...) from stepseal's own
// writers and the golden journals (SOURCE/tests/golden), so the fuzzers start from real inputs.
// The output is kept in the tree (tests/fuzz/corpus); run again after a format change:
//   build-fuzz/fuzz/fuzz_make_seeds tests/fuzz/corpus
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "attest/dsse.h"
#include "attest/keys.h"
#include "attest/build_statements.h"
#include "attest/statements.h"
#include "capture/decoder.h"
#include "forensics/case_index.h"
#include "fuzz_util.h"
#include "journal/journal.h"
#include "stepseal/events.h"
#include "util/file_io.h"
#include "util/hex.h"

namespace fs = std::filesystem;
namespace at = stepseal::attest;
using nlohmann::json;
using stepseal::fuzz::kPartSeparator;

namespace {

fs::path out_dir;

void put(const std::string& harness, const std::string& name, std::string_view bytes) {
  fs::path p = out_dir / harness / name;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string slurp(const fs::path& p) { return stepseal::util::read_file(p.string()); }

std::string join_parts(const std::vector<std::string>& parts) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) s += kPartSeparator;
    s += parts[i];
  }
  return s;
}

// A version-1 journal's frames as journal_fuzz's records (type:u8 rver:u8 len:u16le payload).
std::string records_of_v1(const std::string& file, size_t max_payload = 4000) {
  std::string out;
  size_t off = 16;
  while (off + 16 <= file.size()) {
    uint32_t len;
    uint16_t type, rver;
    std::memcpy(&len, file.data() + off, 4);
    std::memcpy(&type, file.data() + off + 4, 2);
    std::memcpy(&rver, file.data() + off + 6, 2);
    if (off + 16 + len > file.size()) break;
    if (type != 6 && len <= max_payload) {  // the trailer is the harness writer's own
      out.push_back(static_cast<char>(type));
      out.push_back(static_cast<char>(rver));
      out.push_back(static_cast<char>(len & 0xff));
      out.push_back(static_cast<char>(len >> 8));
      out.append(file, off + 16, len);
    }
    off += 16 + len;
  }
  return out;
}

struct Raw {
  ss_event ev{};
  std::string blobs[SS_MAX_BLOBS];
  explicit Raw(uint16_t kind, int64_t ret = 0) {
    ev.kind = kind;
    ev.ret = ret;
    ev.pid = ev.tid = 42;
    ev.ts_ns = 1000;
  }
  Raw& path(int slot, std::initializer_list<const char*> leaf_first) {
    for (const char* c : leaf_first) blobs[slot].append(c, std::strlen(c) + 1);
    ev.blob_flags[slot] = SS_BF_PATH;
    return *this;
  }
  Raw& str(int slot, const std::string& s) {
    blobs[slot] = s + std::string(1, '\0');
    return *this;
  }
  std::string build() {
    size_t total = sizeof ev;
    for (int i = 0; i < SS_MAX_BLOBS; i++) {
      ev.blob_len[i] = static_cast<uint16_t>(blobs[i].size());
      total += blobs[i].size();
    }
    ev.size = static_cast<uint32_t>(total);
    std::string out(reinterpret_cast<const char*>(&ev), sizeof ev);
    for (auto& b : blobs) out += b;
    return out;
  }
};

void journal_seeds(const fs::path& golden) {
  for (const char* v : {"v1", "v2"})
    for (const char* name : {"observe", "hardened", "torn", "flipped"})
      put("journal", std::string(v) + "-" + name, std::string(1, '\0') + slurp(golden / v / (std::string(name) + ".journal")));
  for (const char* name : {"observe", "hardened"}) {
    std::string recs = records_of_v1(slurp(golden / "v1" / (std::string(name) + ".journal")));
    for (char mode : {'\1', '\2', '\3'})
      put("journal", std::string("records-") + name + "-mode" + char('0' + mode), std::string(1, mode) + recs);
  }
}

void decoder_seeds() {
  put("decoder", "open", Raw(SS_K_OPEN, 3).path(SS_B_OBJ, {"main.c", "src", "work"}).str(SS_B_STR1, "src/main.c").path(SS_B_DIR1, {"work"}).build());
  Raw exec(SS_K_EXEC);
  exec.path(SS_B_OBJ, {"cc", "bin", "usr"}).str(SS_B_STR1, "/usr/bin/cc");
  exec.blobs[SS_B_EXTRA] = std::string("cc\0-c\0main.c\0", 14);
  exec.ev.flags = SS_F_HAS_INO;
  exec.ev.ino.ino = 77;
  put("decoder", "exec", exec.build());
  put("decoder", "rename", Raw(SS_K_RENAME).str(SS_B_STR1, "a.tmp").path(SS_B_DIR1, {"out", "work"}).str(SS_B_STR2, "/work/out/a").build());
  Raw conn(SS_K_CONNECT);
  conn.blobs[SS_B_EXTRA] = std::string("\x02\x00\x00\x35\x7f\x00\x00\x01\0\0\0\0\0\0\0\0", 16);
  put("decoder", "connect", conn.build());
  put("decoder", "gap", Raw(SS_K_GAP).build());
}

std::string dns_query(const std::string& name, uint16_t qtype, bool tcp) {
  std::string m = std::string("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    m.push_back(static_cast<char>(dot - start));
    m += name.substr(start, dot - start);
    start = dot + 1;
  }
  m.push_back('\0');
  m.push_back(static_cast<char>(qtype >> 8));
  m.push_back(static_cast<char>(qtype & 0xff));
  m += std::string("\x00\x01", 2);
  if (tcp) m = std::string(1, static_cast<char>(m.size() >> 8)) + static_cast<char>(m.size() & 0xff) + m;
  return m;
}

void dns_seeds() {
  put("dns", "a-udp", dns_query("deb.debian.org", 1, false));
  put("dns", "aaaa-tcp", dns_query("Registry.Example.Internal", 28, true));
  put("dns", "txt", dns_query("x.y", 16, false));
  put("dns", "name", std::string("\x03www\x07" "example\x03" "com\x00", 17));
}

void key_seeds() {
  put("keys", "ecdsa.key", stepseal::fuzz::kTestPrivatePem);
  put("keys", "ecdsa.pub", stepseal::fuzz::test_key().public_pem());
  at::Key ed = at::Key::generate(at::KeyType::kEd25519);
  put("keys", "ed25519.pub", ed.public_pem());
  put("keys", "base64", "aGVsbG8gd29ybGQ=");
}

json golden_summary(const fs::path& golden) {
  return json::parse(slurp(golden / "v2" / "observe.summary.json"));
}

json build_instruction(int h, const std::string& layer) {
  return json{{"history_index", h}, {"created_by", "RUN /bin/sh -c make"}, {"kind", "run"},
              {"layer", layer}};
}

void envelope_seeds(const fs::path& golden) {
  const std::vector<at::Subject> subjects{{"oci:fuzz", "sha256:" + std::string(64, 'a')}};
  at::StepContext ctx;
  ctx.summary = golden_summary(golden);
  ctx.header = json::object();
  ctx.step_name = "step";
  json rt = at::runtime_trace_statement(subjects, ctx);
  json slsa = at::slsa_statement(subjects, ctx);
  put("envelope", "runtime-trace-signed", "\1" + rt.dump());
  put("envelope", "slsa-signed", "\1" + slsa.dump());
  put("envelope", "runtime-trace-envelope",
      std::string(1, '\0') + at::sign_envelope(rt.dump(), at::kInTotoPayloadType, stepseal::fuzz::test_key()).dump());
}

// A one-image layout. Blobs may only name blobs after them (oci_fuzz.cpp), so: attestation
// manifest (1) -> signed runtime-trace envelope (2) -> image manifest (3) -> config (4), layer (5).
// index.json names the image (tag "latest") and the attestation (cosign's tag).
std::vector<std::string> layout_parts(const fs::path& golden, bool attestation) {
  const std::string layer = "layer bytes";
  const std::string diff = "sha256:" + stepseal::util::sha256_hex(layer);
  json config = {{"architecture", "amd64"}, {"os", "linux"},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", {diff}}}},
                 {"history", {{{"created_by", "RUN /bin/sh -c make"}}}}};
  json manifest = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", "sha256:@@4"}, {"size", "##4"}}},
                   {"layers", {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"}, {"digest", "sha256:@@5"}, {"size", "##5"}}}}};
  at::StepContext ctx;
  ctx.summary = golden_summary(golden);
  ctx.header = json::object();
  ctx.step_name = "01";
  ctx.build = build_instruction(0, diff);
  json st = at::runtime_trace_statement({{"oci:fuzz", "sha256:@@3"}}, ctx);
  json att = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
              {"config", {{"mediaType", "application/vnd.oci.empty.v1+json"}, {"digest", "sha256:@@5"}, {"size", "##5"}}},
              {"layers", {{{"mediaType", "application/vnd.dsse.envelope.v1+json"}, {"digest", "sha256:@@2"}, {"size", "##2"},
                           {"annotations", {{"predicateType", at::kRuntimeTrace}}}}}}};
  json index = {{"schemaVersion", 2},
                {"manifests", {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"}, {"digest", "sha256:@@3"}, {"size", "##3"},
                                {"annotations", {{"org.opencontainers.image.ref.name", "latest"}}}},
                               {{"mediaType", "application/vnd.oci.image.manifest.v1+json"}, {"digest", "sha256:@@1"}, {"size", "##1"},
                                {"annotations", {{"org.opencontainers.image.ref.name", "sha256-@@3.att"}}}}}}};
  if (!attestation) index["manifests"].erase(1);
  auto fix_sizes = [](std::string s) {  // "##K" must be a JSON number, not a string
    for (size_t at = s.find("\"##"); at != std::string::npos; at = s.find("\"##", at)) {
      s.erase(at, 1);
      s.erase(at + 3, 1);
    }
    return s;
  };
  return {fix_sizes(index.dump(1)), fix_sizes(att.dump(1)), "SIGN:" + st.dump(), fix_sizes(manifest.dump(1)),
          config.dump(1), layer};
}

void oci_seeds(const fs::path& golden) {
  put("oci", "image-with-attestation", join_parts(layout_parts(golden, true)));
  put("oci", "image", join_parts(layout_parts(golden, false)));
}

void build_record_seeds(const fs::path& golden) {
  const std::string journal = slurp(golden / "v2" / "observe.journal");
  json record = {{"format", "stepseal-build"}, {"complete", true}, {"lost_events", 0},
                 {"image", {{"manifest_digest", "sha256:" + std::string(64, 'a')}}},
                 {"steps", {{{"step", 1}, {"journal", "steps/01.journal"}, {"instruction", build_instruction(1, "sha256:00")}}}}};
  put("build_record", "one-step", join_parts({record.dump(1), journal}));
  record["complete"] = false;
  put("build_record", "incomplete", join_parts({record.dump(1), slurp(golden / "v2" / "torn.journal")}));
}

void index_seeds(const fs::path& golden) {
  const fs::path db_path = fs::temp_directory_path() / ("stepseal-seed-" + std::to_string(getpid()) + ".index");
  {
    stepseal::forensics::Db db(db_path.string(), true);
    stepseal::forensics::index_inputs(db, {(golden / "v2" / "observe.journal").string(),
                                           (golden / "v1" / "hardened.journal").string()});
  }
  put("index", "two-journals", slurp(db_path));
  fs::remove(db_path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds DIR (e.g. tests/fuzz/corpus)\n";
    return 2;
  }
  out_dir = argv[1];
  const fs::path golden = fs::path(STEPSEAL_SOURCE_DIR) / "tests" / "golden";
  journal_seeds(golden);
  decoder_seeds();
  dns_seeds();
  key_seeds();
  envelope_seeds(golden);
  oci_seeds(golden);
  build_record_seeds(golden);
  index_seeds(golden);
  std::cout << "seeds written to " << out_dir << "\n";
  return 0;
}
