// statements.h - in-toto Statements (v1) and in-toto 1.x links made from a step's summary.
//
//   runtime_trace_statement  predicate https://in-toto.io/attestation/runtime-trace/v0.2: the
//                            full record (processes with exe digests, file accesses with digests
//                            and access kinds, network attempts, completeness, the journal head)
//   slsa_statement           predicate https://slsa.dev/provenance/v1: argv and cwd as external
//                            parameters, files read and binaries run as resolved dependencies,
//                            stepseal's own binary digest in builder, the journal head as byproduct
//   intoto_link              old-style link metadata for in-toto-verify (materials = files read,
//                            products = files written, each with its sha256)
//
// Field-by-field documentation: docs/attestations.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attest/keys.h"

namespace stepseal::attest {

inline constexpr const char* kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr const char* kRuntimeTrace = "https://in-toto.io/attestation/runtime-trace/v0.2";
// what stepseal wrote before 2026-12 (read by verify; docs/attestations.md)
inline constexpr const char* kRuntimeTraceV01 = "https://in-toto.io/attestation/runtime-trace/v0.1";
inline constexpr const char* kSlsaProvenance = "https://slsa.dev/provenance/v1";

struct Subject {
  std::string name;    // e.g. "oci:DIR:TAG" or "oci:DIR@linux/amd64"
  std::string digest;  // "sha256:<hex>"
};

// What the journal's HEADER says about the recording (host, kernel, stepseal build).
struct StepContext {
  nlohmann::json summary;  // stepseal show --format json
  nlohmann::json header;   // the journal's HEADER record
  std::string step_name;   // e.g. the trace file's name without extension
  // stepseal build: the step's instruction and layer (build.json's step, "instruction"), or null
  nlohmann::json build = nullptr;
  // the job this step belongs to, unique (runtime-trace monitoredProcess.event): from the CI's
  // own variables, --event, or generated (ci_event()); empty: the step's name
  std::string event{};
  // the SLSA builder.id an operator sets (their CI's identity); empty: this stepseal binary,
  // named by its digest
  std::string builder_id{};
};

// {"_type": Statement v1, "subject": SUBJECTS, "predicateType": TYPE, "predicate": PREDICATE}
nlohmann::json make_statement(const std::vector<Subject>& subjects, const char* type,
                              nlohmann::json predicate);

// The job's identity from the CI's own variables: a GitHub Actions run URL with its attempt, a
// GitLab job URL; empty when neither is set.
std::string ci_event();

nlohmann::json runtime_trace_statement(const std::vector<Subject>& subjects, const StepContext& s);
nlohmann::json slsa_statement(const std::vector<Subject>& subjects, const StepContext& s);

// {"signatures": [{"keyid", "sig": hex}], "signed": {"_type": "link", ...}}
nlohmann::json intoto_link(const StepContext& s, const Key& key);

// The predicate types stepseal writes (and `verify` knows).
bool known_predicate(const std::string& type);

// The step a Statement of either type attests, and the journal chain head it binds to: read
// back from where runtime_trace_statement / slsa_statement put them. Empty strings if absent.
struct AttestedStep {
  std::string step;
  std::string journal_head;
  nlohmann::json enforcement;  // {mode, policy{digest{sha256}}, verdict, violations}; null if absent
  std::optional<bool> complete;
};
AttestedStep attested_step(const nlohmann::json& statement);

}  // namespace stepseal::attest
