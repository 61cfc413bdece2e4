#include "capture/bpf_tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "stepseal.skel.h"

namespace stepseal {

namespace {

int libbpf_log(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG && !spdlog::should_log(spdlog::level::trace)) return 0;
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, fmt, copy);  // verifier logs run to megabytes: no fixed buffer
  va_end(copy);
  std::string s(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) vsnprintf(s.data(), s.size() + 1, fmt, args);
  while (!s.empty() && s.back() == '\n') s.pop_back();
  if (level == LIBBPF_WARN)
    spdlog::debug("libbpf: {}", s);  // surfaced through AttachError when it matters
  else
    spdlog::trace("libbpf: {}", s);
  return 0;
}

int on_record(void* ctx, void* data, size_t len) {
  return (*static_cast<BpfTracer::Sink*>(ctx))(data, len);
}

std::string hint(int err) {
  if (err == EPERM || err == EACCES)
    return " (stepseal needs root, or CAP_BPF + CAP_PERFMON + CAP_SYS_ADMIN)";
  return "";
}

}  // namespace

BpfTracer::BpfTracer(size_t ring_bytes, Sink sink, const std::vector<int>& denied,
                     bool exec_allowlist)
    : sink_(std::move(sink)), ring_bytes_(ring_bytes), ncpus_(libbpf_num_possible_cpus()) {
  libbpf_set_print(libbpf_log);
  skel_ = stepseal_bpf__open();
  if (!skel_) throw AttachError(std::string("cannot open BPF object: ") + strerror(errno));
  if (int err = bpf_map__set_max_entries(skel_->maps.events, static_cast<uint32_t>(ring_bytes)))
    throw AttachError("invalid ring buffer size " + std::to_string(ring_bytes) + ": " +
                      strerror(-err));
  // Wake the reader early only when a quarter of the ring is waiting; otherwise it drains on
  // its own timer, which keeps per-event wake-ups off the traced build's critical path.
  skel_->rodata->wakeup_bytes = ring_bytes / 4;
  skel_->rodata->hardened = !denied.empty();
  skel_->rodata->exec_allowlist = exec_allowlist;
  if (int err = stepseal_bpf__load(skel_)) {
    stepseal_bpf__destroy(skel_);
    skel_ = nullptr;
    throw AttachError(std::string("cannot load BPF programs: ") + strerror(-err) + hint(-err));
  }
  for (int nr : denied) {
    uint32_t k = static_cast<uint32_t>(nr);
    uint8_t one = 1;
    if (nr < 0 || nr >= SS_NR_MAX ||
        bpf_map__update_elem(skel_->maps.denied, &k, sizeof k, &one, sizeof one, BPF_ANY)) {
      stepseal_bpf__destroy(skel_);
      skel_ = nullptr;
      throw AttachError("cannot register denied system call " + std::to_string(nr));
    }
  }
  if (int err = stepseal_bpf__attach(skel_)) {
    stepseal_bpf__destroy(skel_);
    skel_ = nullptr;
    throw AttachError(std::string("cannot attach BPF programs: ") + strerror(-err) + hint(-err));
  }
  rb_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), on_record, &sink_, nullptr);
  if (!rb_) {
    int err = errno;
    stepseal_bpf__destroy(skel_);
    skel_ = nullptr;
    throw AttachError(std::string("cannot map the ring buffer: ") + strerror(err));
  }
}

BpfTracer::~BpfTracer() {
  if (rb_) ring_buffer__free(rb_);
  if (skel_) stepseal_bpf__destroy(skel_);
}

void BpfTracer::track_spawner(uint32_t pid, uint16_t step) {
  uint32_t v = SS_TRACK_VALUE(SS_TRACK_SPAWNER, step);
  if (bpf_map__update_elem(skel_->maps.tracked, &pid, sizeof pid, &v, sizeof v, BPF_ANY))
    throw AttachError(std::string("cannot register the step's process: ") + strerror(errno));
}

void BpfTracer::follow(uint32_t pid, uint16_t step) {
  uint32_t v = SS_TRACK_VALUE(SS_TRACK_PROC, step);
  if (bpf_map__update_elem(skel_->maps.tracked, &pid, sizeof pid, &v, sizeof v, BPF_NOEXIST))
    throw AttachError("cannot follow process " + std::to_string(pid) + ": " +
                      (errno == EEXIST ? std::string("it is followed already")
                                       : std::string(strerror(errno))));
}

void BpfTracer::set_exec_rules(const std::vector<ss_exec_key>& deny,
                               const std::vector<ss_exec_key>& allow) {
  uint8_t one = 1;
  for (const auto& [list, map] : {std::pair{&deny, skel_->maps.exec_deny},
                                  std::pair{&allow, skel_->maps.exec_allow}})
    for (const auto& k : *list)
      if (bpf_map__update_elem(map, &k, sizeof k, &one, sizeof one, BPF_ANY))
        throw AttachError(std::string("cannot register an exec rule: ") + strerror(errno));
}

void BpfTracer::set_step_pidns(uint32_t inum) {
  uint32_t zero = 0;
  if (bpf_map__update_elem(skel_->maps.step_pidns, &zero, sizeof zero, &inum, sizeof inum, BPF_ANY))
    throw AttachError(std::string("cannot register the step's pid namespace: ") + strerror(errno));
}

int BpfTracer::events_map_fd() const { return bpf_map__fd(skel_->maps.events); }
int BpfTracer::counters_map_fd() const { return bpf_map__fd(skel_->maps.counters); }

int BpfTracer::epoll_fd() const { return ring_buffer__epoll_fd(rb_); }

int BpfTracer::consume() { return ring_buffer__consume(rb_); }

std::vector<uint64_t> BpfTracer::counter(ss_counter which) const {
  std::vector<uint64_t> v(static_cast<size_t>(ncpus_));
  uint32_t key = which;
  if (bpf_map__lookup_elem(skel_->maps.counters, &key, sizeof key, v.data(),
                           v.size() * sizeof(uint64_t), 0))
    spdlog::warn("cannot read BPF counter {}: {}", key, strerror(errno));
  return v;
}

}  // namespace stepseal
