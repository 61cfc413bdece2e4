#include "capture/digest_record.h"

namespace stepseal {

const char* role_name(DigestRole r) {
  switch (r) {
    case DigestRole::kContent: return "content";
    case DigestRole::kExec: return "exec";
    case DigestRole::kBefore: return "before";
    case DigestRole::kAfter: return "after";
    case DigestRole::kUnknown: break;
  }
  return "unknown";
}

DigestRole role_from_name(std::string_view n) {
  if (n == "content") return DigestRole::kContent;
  if (n == "exec") return DigestRole::kExec;
  if (n == "before") return DigestRole::kBefore;
  if (n == "after") return DigestRole::kAfter;
  return DigestRole::kUnknown;
}

const char* status_name(DigestStatus s) {
  switch (s) {
    case DigestStatus::kExact: return "exact";
    case DigestStatus::kRaced: return "raced";
    case DigestStatus::kUnavailable: break;
  }
  return "unavailable";
}

DigestStatus status_from_name(std::string_view n) {
  if (n == "exact") return DigestStatus::kExact;
  if (n == "raced") return DigestStatus::kRaced;
  return DigestStatus::kUnavailable;
}

namespace {

nlohmann::json id_json(const Inode& f) {
  return {{"dev", f.dev}, {"ino", f.ino}, {"size", f.size}, {"mtime_ns", f.mtime_ns},
          {"ctime_ns", f.ctime_ns}};
}

std::optional<Inode> id_from(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return std::nullopt;
  const auto& i = *it;
  // an identity without its file's device and inode identifies nothing
  for (const char* k : {"dev", "ino"})
    if (!i.contains(k) || !i[k].is_number_unsigned()) return std::nullopt;
  Inode n;
  auto u64 = [&](const char* k) {
    auto f = i.find(k);
    return f != i.end() && f->is_number_unsigned() ? f->get<uint64_t>() : uint64_t{0};
  };
  auto i64 = [&](const char* k) {
    auto f = i.find(k);
    return f != i.end() && f->is_number_integer() ? f->get<int64_t>() : int64_t{0};
  };
  n.dev = u64("dev");
  n.ino = u64("ino");
  n.size = i64("size");
  n.mtime_ns = i64("mtime_ns");
  n.ctime_ns = i64("ctime_ns");
  return n;
}

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

nlohmann::json encode_digest(const DigestRecord& d) {
  nlohmann::json j = {{"role", role_name(d.role)}, {"path", d.path}, {"pid", d.pid},
                      {"ts", d.ts_ns}, {"status", status_name(d.status)}};
  if (!d.sha256.empty()) j["sha256"] = d.sha256;
  if (!d.reason.empty()) {
    j["reason"] = d.reason;
    j["reason_code"] = reason_code_name(
        d.reason_code == DigestReasonCode::kNone ? DigestReasonCode::kOther : d.reason_code);
  }
  if (!d.trigger.empty()) j["trigger"] = d.trigger;
  if (d.fileless) j["fileless"] = true;
  if (d.id) j["id"] = id_json(*d.id);
  if (d.found_id) j["found_id"] = id_json(*d.found_id);
  if (!d.alias.empty()) j["alias"] = d.alias;
  if (d.prefix) j["prefix"] = {{"len", d.prefix->len}, {"sha256", d.prefix->sha256}};
  if (d.proof)
    j["proof"] = {{"kind", "no_writer"},
                  {"event_seq", d.proof->event_seq},
                  {"verified_ns", d.proof->verified_ns},
                  {"sha256", d.proof->sha256}};
  return j;
}

DigestRecord decode_digest(const nlohmann::json& j) {
  DigestRecord d;
  if (!j.is_object()) {
    d.role = DigestRole::kUnknown;
    return d;
  }
  d.role = role_from_name(str(j, "role"));
  d.path = str(j, "path");
  if (auto it = j.find("pid"); it != j.end() && it->is_number_unsigned())
    d.pid = static_cast<uint32_t>(it->get<uint64_t>());
  if (auto it = j.find("ts"); it != j.end() && it->is_number_unsigned())
    d.ts_ns = it->get<uint64_t>();
  d.status = status_from_name(str(j, "status"));
  d.sha256 = str(j, "sha256");
  d.reason = str(j, "reason");
  // journals written before reason codes carry the text only (digest_codes.h)
  auto code = j.find("reason_code");
  d.reason_code = code != j.end() && code->is_string()
                      ? reason_code_from_name(code->get<std::string>())
                      : legacy_reason_code(d.reason);
  d.trigger = str(j, "trigger");
  if (auto it = j.find("fileless"); it != j.end() && it->is_boolean()) d.fileless = it->get<bool>();
  d.id = id_from(j, "id");
  d.found_id = id_from(j, "found_id");
  d.alias = str(j, "alias");
  if (auto p = j.find("prefix"); p != j.end() && p->is_object()) {
    auto len = p->find("len");
    std::string sha = str(*p, "sha256");
    if (len != p->end() && len->is_number_unsigned() && len->get<uint64_t>() > 0 &&
        sha.size() == 64 && sha.find_first_not_of("0123456789abcdef") == std::string::npos)
      d.prefix = DigestPrefix{len->get<uint64_t>(), sha};
  }
  if (auto p = j.find("proof"); p != j.end() && p->is_object() && str(*p, "kind") == "no_writer") {
    auto seq = p->find("event_seq");
    auto at = p->find("verified_ns");
    std::string sha = str(*p, "sha256");
    if (seq != p->end() && seq->is_number_unsigned() && seq->get<uint64_t>() > 0 &&
        seq->get<uint64_t>() <= UINT32_MAX && at != p->end() && at->is_number_unsigned() &&
        sha.size() == 64 && sha.find_first_not_of("0123456789abcdef") == std::string::npos)
      d.proof = NoWriterProof{static_cast<uint32_t>(seq->get<uint64_t>()), at->get<uint64_t>(), sha};
  }
  // an "exact" record without a digest vouches for nothing
  if (d.exact() && d.sha256.empty()) d.status = DigestStatus::kUnavailable;
  return d;
}

}  // namespace stepseal
