// tracer_host_test.cpp - one attached tracer following two steps that overlap in time, each
// with its own root (an existing process, as a container's init will be), its own LiveSource
// and its own journal. What each step did must land in its journal and only there, a step's
// descendants included.
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <set>
#include <memory>

#include "harness.h"
#include "journal/counters.h"
#include "replay/step_record.h"
#include "supervisor/step_recorder.h"
#include "supervisor/tracer_host.h"

namespace e2e {
namespace {

using stepseal::LiveSource;
using stepseal::RecorderOptions;
using stepseal::StepRecorder;
using stepseal::TracerHost;
using stepseal::TracerOptions;
namespace journal = stepseal::journal;

// A child that waits for one byte on `go` before each of its actions, so the test decides when
// it runs: before it is followed it does nothing at all.
struct Puppet {
  pid_t pid = -1;
  int go = -1;  // write end
  void Next() const { ASSERT_EQ(write(go, "g", 1), 1); }
};

void Await(int fd) {
  char c;
  if (read(fd, &c, 1) != 1) _exit(90);
}

void Create(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) _exit(91);
  close(fd);
}

class TracerHostTest : public E2ETest {
 protected:
  // Runs `actions` in a fresh child, one per byte the test sends.
  Puppet Start(std::vector<std::function<void()>> actions) {
    int p[2];
    EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
      close(p[1]);
      for (auto& a : actions) {
        Await(p[0]);
        a();
      }
      _exit(0);
    }
    close(p[0]);
    return {pid, p[1]};
  }

  // Drains the ring into every open step's recorder.
  void Pump(TracerHost& host, std::map<uint16_t, std::unique_ptr<StepRecorder>>& recs) {
    pollfd pfd{host.tracer().epoll_fd(), POLLIN, 0};
    poll(&pfd, 1, 25);
    host.consume();
    for (auto& [n, rec] : recs) rec->consume_all(host.source(n));
  }

  // Pumps until `pid` has exited; returns its wait status.
  int Reap(TracerHost& host, std::map<uint16_t, std::unique_ptr<StepRecorder>>& recs, pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) Pump(host, recs);
    return status;
  }
};

TEST_F(TracerHostTest, OneTracerFollowsTwoOverlappingSteps) {
  TracerHost host(TracerOptions{4u << 20, {}, false});
  std::map<uint16_t, std::unique_ptr<StepRecorder>> recs;
  auto open_step = [&](const std::string& journal_path) {
    uint16_t n = host.open_step();
    recs[n] = std::make_unique<StepRecorder>(RecorderOptions{journal_path, false, nullptr, "", 0});
    recs[n]->append_json(journal::RecordType::HEADER, {{"format", "stepseal-journal"}, {"version", 1}});
    recs[n]->append_json(journal::RecordType::STEP_START, {{"argv", {"puppet"}}});
    return n;
  };

  // (paths made before the forks: the children only make system calls)
  const std::string a1 = work("a_first"), a2 = work("a_second"), b1 = work("b_only"),
                    b2 = work("b_grandchild"), s1 = work("stranger");
  // A: creates a_first, then (after B has run) a_second.
  Puppet a = Start({[a1] { Create(a1); }, [a2] { Create(a2); }});
  // B: creates b_only, and a child of its own that creates b_grandchild.
  Puppet b = Start({[b1, b2] {
    Create(b1);
    pid_t c = fork();
    if (c == 0) {
      Create(b2);
      _exit(0);
    }
    waitpid(c, nullptr, 0);
  }});
  // Not followed by any step: its file must be in neither journal.
  Puppet stranger = Start({[s1] { Create(s1); }});

  const uint16_t sa = open_step(dir() / "a.journal");
  host.tracer().follow(static_cast<uint32_t>(a.pid), sa);
  a.Next();  // a_first
  const uint16_t sb = open_step(dir() / "b.journal");  // opened while A runs
  ASSERT_NE(sa, sb);
  host.tracer().follow(static_cast<uint32_t>(b.pid), sb);
  b.Next();
  stranger.Next();
  EXPECT_EQ(Reap(host, recs, b.pid), 0);
  EXPECT_EQ(Reap(host, recs, stranger.pid), 0);
  a.Next();  // a_second, after B has ended
  EXPECT_EQ(Reap(host, recs, a.pid), 0);
  while (host.consume() > 0) {
  }
  for (auto& [n, rec] : recs) {
    rec->consume_all(host.source(n));
    nlohmann::json counters = host.counters(n);
    rec->finish({{"exit_code", 0}, {"counters", counters}},
                {{"lost_events", journal::lost_events(counters)}});
    host.close_step(n);
    EXPECT_EQ(journal::lost_events(counters), 0u);
  }
  for (int fd : {a.go, b.go, stranger.go}) close(fd);

  auto files = [](const std::string& path) {
    stepseal::StepRecord r = stepseal::load_step(path);
    EXPECT_TRUE(r.read.intact) << path << ": " << r.read.problem;
    std::set<std::string> names;
    for (const auto& [p, f] : r.model.files())
      if (p.rfind("/tmp/", 0) == 0 && (f.access & stepseal::kCreate))
        names.insert(p.substr(p.rfind('/') + 1));
    return names;
  };
  EXPECT_EQ(files(dir() / "a.journal"), (std::set<std::string>{"a_first", "a_second"}));
  EXPECT_EQ(files(dir() / "b.journal"), (std::set<std::string>{"b_only", "b_grandchild"}));
}

TEST_F(TracerHostTest, FollowingAProcessTwiceIsRefused) {
  TracerHost host(TracerOptions{1u << 20, {}, false});
  Puppet p = Start({[] {}});
  uint16_t s = host.open_step();
  host.tracer().follow(static_cast<uint32_t>(p.pid), s);
  EXPECT_THROW(host.tracer().follow(static_cast<uint32_t>(p.pid), host.open_step()),
               stepseal::AttachError);
  p.Next();
  int status = 0;
  waitpid(p.pid, &status, 0);
  close(p.go);
  EXPECT_EQ(status, 0);
}

}  // namespace
}  // namespace e2e
