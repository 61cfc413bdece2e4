#include "syscalls/denylist.h"

#include <vector>

#include "stepseal/syscall_table.h"

namespace stepseal::syscalls {

namespace {

DenyMode mode_of(int m) {
  switch (m) {
    case SS_DENY_ALWAYS: return DenyMode::kAlways;
    case SS_DENY_IF: return DenyMode::kIf;
    case SS_DENY_ENOSYS: return DenyMode::kEnosys;
    case SS_DENY_PROBE: return DenyMode::kProbe;
    default: return DenyMode::kNo;
  }
}

const std::vector<SyscallRow>& rows() {
  static const std::vector<SyscallRow> r = {
#define SS_ROW(name, nr64, nr32, kind, shape, deny, why) \
  {#name, nr64, nr32, SS_K_##kind, mode_of(SS_DENY_##deny), why},
      SS_SYSCALLS(SS_ROW)
#undef SS_ROW
  };
  return r;
}

}  // namespace

std::span<const SyscallRow> syscall_table() { return rows(); }

std::span<const DeniedCall> denied_calls() {
  static const std::vector<DeniedCall> always = [] {
    std::vector<DeniedCall> v;
    for (const auto& r : rows())
      if (r.deny == DenyMode::kAlways) v.push_back({r.name, r.nr64, r.why});
    return v;
  }();
  return always;
}

std::vector<int> refusal_numbers() {
  std::vector<int> v;
  for (const auto& r : rows())
    if (r.deny == DenyMode::kAlways || r.deny == DenyMode::kIf) v.push_back(r.nr64);
  return v;
}

std::span<const ss_deny_rule> deny_rules() {
  return {ss_deny_rules, static_cast<size_t>(SS_DENY_RULE_COUNT)};
}

bool refused_with(int nr, const std::array<uint64_t, 6>& args) {
  for (const auto& r : rows())
    if (r.nr64 == nr) {
      if (r.deny == DenyMode::kAlways) return true;
      if (r.deny != DenyMode::kIf) return false;
      __u64 a[6];
      for (int i = 0; i < 6; i++) a[i] = args[i];
      return ss_refused_with(nr, a) != 0;
    }
  return false;
}

std::string syscall_name(uint32_t nr, bool compat) {
  if (compat) return "i386:" + std::to_string(nr);
  constexpr uint32_t kX32 = 0x40000000;
  if (nr >= kX32 && nr < kX32 + 1024) return "x32:" + std::to_string(nr - kX32);
  for (const auto& r : rows())
    if (r.nr64 == static_cast<int>(nr)) return r.name;
  return "syscall:" + std::to_string(nr);
}

}  // namespace stepseal::syscalls
