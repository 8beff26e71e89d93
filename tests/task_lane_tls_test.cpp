// The direct task lane (MANTA_TASK_LANE=1, set for this test in
// tests/meson.build; net/task_lane.hpp) in a TLS cluster, the default
// transport: the lane goes through the data path's TLS handshake (both
// certificates checked against the cluster's CA) and its bytes travel in
// the data path's own TLS 1.3 records (net/task_lane_tls.hpp). The cluster
// cases check that the lane, not the usual path, carried the tasks (its
// counters) and that the usual path's guarantees hold over it (a retryable
// failure, cancel, a worker killed mid-task); the hostile ones that a lane
// hello in plain TCP gets nothing from a TLS worker and that a record that
// does not authenticate ends the lane, either way. Real node processes
// (this binary is head, workers and driver: cluster_main.hpp).

#include "actors/lane_direct.hpp"
#include "actors/task_lanes.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/lane_tasks.hpp"
#include "tests/loopback_socket.hpp"
#include "tests/task_answer.hpp"
#include "tests/wait_for.hpp"

#include <manta/cluster/cluster.hpp>
#include <manta/cluster/cluster_tls.hpp>
#include <manta/cluster/object_fetch.hpp>
#include <manta/core/runtime.hpp>
#include <manta/manta.hpp>
#include <manta/net/data_path_tls.hpp>
#include <manta/net/object_transfer.hpp>
#include <manta/net/task_lane.hpp>
#include <manta/net/wire.hpp>
#include <manta/store/held_objects.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// Says it started in `path`, then runs until `path` + ".go" exists (60 s
/// at most); its process id.
int until_told(std::string path) {
  append(path, "started");
  for (auto until = steady::now() + 60s;
       steady::now() < until && !std::filesystem::exists(path + ".go");)
    std::this_thread::sleep_for(1ms);
  return ::getpid();
}
MANTA_REMOTE(until_told);

/// Where the node running it serves its data path (its lanes too).
int data_port_here() {
  return manta::detail::runtime::current()->cluster_link()->data_port();
}
MANTA_REMOTE(data_port_here);

std::string scratch(const std::string& name) {
  return manta_test::scratch_dir("task_lane_tls", name);
}

/// A worker of `cpus` CPUs (its stderr in `log` if given), joined by this
/// driver with none of its own, its lane up; the cluster uses TLS.
pid_t lane_worker(manta::local_cluster& c, double cpus = 1, const std::string& log = "") {
  auto pid = c.add_worker(cpus, "", {}, log);
  c.join(0);
  REQUIRE(manta::detail::reader_tls() != nullptr); // the data path, so the lane, speaks TLS
  wait_for_lane();
  return pid;
}

/// A TCP relay between a lane client and a transfer server that, armed
/// for one direction, flips a bit of the next record going that way (the
/// last byte received once more than a record's header came: its body or
/// tag), so that record does not authenticate.
class flipping_relay {
public:
  explicit flipping_relay(uint16_t target) : target_(target) {
    listener_ = manta_test::tcp_listen(port_);
    REQUIRE(listener_ >= 0);
    thread_ = std::thread{[this] { run(); }};
  }
  ~flipping_relay() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  flipping_relay(const flipping_relay&) = delete;
  flipping_relay& operator=(const flipping_relay&) = delete;

  uint16_t port() const { return port_; }
  /// Call while nothing is on its way in that direction.
  void arm(bool to_client) { armed_[to_client ? 1 : 0] = true; }

private:
  void run() {
    pollfd l{listener_, POLLIN, 0};
    while (!stop_ && ::poll(&l, 1, 20) <= 0) {
    }
    if (stop_)
      return;
    int client = ::accept(listener_, nullptr, nullptr);
    int server = manta_test::tcp_connect(target_);
    int from[2] = {client, server};
    int to[2] = {server, client};
    size_t seen[2] = {0, 0};
    char buf[1 << 16];
    for (bool open = client >= 0 && server >= 0; open && !stop_;) {
      pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (::poll(p, 2, 20) <= 0)
        continue;
      for (int i = 0; i < 2 && open; ++i) {
        if (p[i].revents == 0)
          continue;
        auto k = ::recv(from[i], buf, sizeof(buf), 0);
        if (k <= 0) {
          open = false;
          break;
        }
        if (armed_[i] && (seen[i] += static_cast<size_t>(k)) > 5) {
          buf[k - 1] ^= 1;
          armed_[i] = false;
          seen[i] = 0;
        }
        for (ssize_t at = 0; at < k && open;) {
          auto w = ::send(to[i], buf + at, static_cast<size_t>(k - at), MSG_NOSIGNAL);
          open = w > 0;
          at += w;
        }
      }
    }
    ::close(client);
    ::close(server);
  }

  uint16_t target_;
  uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> armed_[2] = {false, false}; ///< to the server, to the client
  std::thread thread_;
};

/// A lane client's reader on a thread of its own: the answers it read,
/// and why it ended.
struct lane_reader {
  struct answer {
    uint64_t id;
    std::vector<char> message;
    std::vector<char> beside;
  };
  lane::client& c;
  std::mutex mtx;
  std::vector<answer> answers;
  std::string why;
  std::atomic<bool> ended{false};
  std::thread thread;

  explicit lane_reader(lane::client& cl) : c(cl) {
    thread = std::thread{[this] {
      c.read_loop([this](uint64_t id, std::vector<char> m, std::vector<char> b) {
        std::lock_guard<std::mutex> guard{mtx};
        answers.push_back({id, std::move(m), std::move(b)});
      });
      std::lock_guard<std::mutex> guard{mtx};
      why = c.ended_for();
      ended = true;
    }};
  }
  ~lane_reader() {
    c.shut();
    thread.join();
  }
  size_t count() {
    std::lock_guard<std::mutex> guard{mtx};
    return answers.size();
  }
};

} // namespace

TEST_CASE("a lane in the data path's TLS records both ways; a record that does not "
          "authenticate ends it") {
  // The two ends in this process: a TLS transfer server (the worker's data
  // path; its lane frames come to the handler below) and lane clients.
  namespace md = manta::detail;
  REQUIRE(lane::enabled());
  std::string err;
  auto id = md::token_identity::make(std::string(64, 'l'), err);
  REQUIRE(id);
  auto tls = md::data_path_tls::from_identity(*id);
  REQUIRE(tls);
  const std::string token = "lane-token";
  struct got {
    uint64_t key;
    uint32_t kind;
    uint64_t id;
    std::vector<char> payload;
  };
  std::mutex mtx;
  std::vector<got> frames;
  lane::set_handler(
    [&](uint64_t key, const lane::frame& f, std::vector<char> payload, lane::later* /*run*/) {
      std::lock_guard<std::mutex> guard{mtx};
      frames.push_back({key, f.kind, f.id, std::move(payload)});
    });
  auto frame_count = [&] {
    std::lock_guard<std::mutex> guard{mtx};
    return frames.size();
  };
  md::transfer_server server{"127.0.0.1", token,
                             [](uint64_t) { return std::optional<md::held_bytes>{}; }, tls};
  using manta_test::wait_for;
  std::string spec(300, 's');
  std::string message = "answer";
  {
    // A hello in plain TCP: the handshake fails, nothing is read.
    lane::client plain;
    REQUIRE(plain.connect("127.0.0.1", server.port(), token, 41).empty());
    CHECK(wait_for([&] { return server.refused() == 1; }, 10s));
    lane_reader r{plain};
    CHECK(wait_for([&] { return r.ended.load(); }, 10s));
    CHECK(lane::writer_of(41) == nullptr);
    CHECK(frame_count() == 0);
  }
  {
    // TLS with a certificate another CA signed (another cluster's token):
    // the handshake fails on both ends, no hello is read.
    auto other_id = md::token_identity::make(std::string(64, 'o'), err);
    REQUIRE(other_id);
    auto other = md::data_path_tls::from_identity(*other_id);
    REQUIRE(other);
    auto refused = server.refused();
    lane::client stranger;
    auto why = stranger.connect("127.0.0.1", server.port(), token, 44, other);
    CHECK(why.find("TLS handshake") != std::string::npos);
    CHECK_FALSE(stranger.up());
    CHECK(wait_for([&] { return server.refused() == refused + 1; }, 10s));
    CHECK(lane::writer_of(44) == nullptr);
    CHECK(frame_count() == 0);
  }
  {
    flipping_relay relay{server.port()};
    lane::client c;
    REQUIRE(c.connect("127.0.0.1", relay.port(), token, 42, tls).empty());
    lane_reader r{c};
    REQUIRE(c.send_spec({spec.data(), spec.size()}));
    REQUIRE(c.send_cancel(9, true, false));
    REQUIRE(wait_for([&] { return frame_count() == 2; }, 10s));
    {
      std::lock_guard<std::mutex> guard{mtx};
      CHECK(frames[0].key == 42);
      CHECK(frames[0].kind == lane::spec);
      CHECK(std::string(frames[0].payload.begin(), frames[0].payload.end()) == spec);
      CHECK(frames[1].kind == lane::cancel);
      CHECK(frames[1].id == 9);
    }
    auto w = lane::writer_of(42);
    REQUIRE(w);
    std::vector<char> beside(100 << 10, 'v'); // seven records
    REQUIRE(w->send_result(5, {message.data(), message.size()}, beside));
    REQUIRE(wait_for([&] { return r.count() == 1; }, 10s));
    {
      std::lock_guard<std::mutex> guard{r.mtx};
      CHECK(r.answers[0].id == 5);
      CHECK(std::string(r.answers[0].message.begin(), r.answers[0].message.end()) == message);
      CHECK(r.answers[0].beside == beside);
    }
    // A record to the driver that does not authenticate: its reader ends
    // the lane and says why; the worker's end closes with it (its answers
    // go the usual way).
    relay.arm(true);
    CHECK(w->send_result(6, {message.data(), message.size()}, {}));
    REQUIRE(wait_for([&] { return r.ended.load(); }, 10s));
    {
      std::lock_guard<std::mutex> guard{r.mtx};
      CHECK(r.why.find("did not authenticate") != std::string::npos);
      CHECK(r.answers.size() == 1);
    }
    CHECK_FALSE(c.up());
    CHECK_FALSE(c.send_spec({spec.data(), spec.size()}));
    CHECK(wait_for([] { return lane::writer_of(42) == nullptr; }, 10s));
    CHECK_FALSE(w->send_result(7, {message.data(), message.size()}, {}));
  }
  {
    // A record to the worker that does not authenticate: refused, the
    // lane closed, its frame never handed on.
    flipping_relay relay{server.port()};
    lane::client c;
    REQUIRE(c.connect("127.0.0.1", relay.port(), token, 43, tls).empty());
    lane_reader r{c};
    REQUIRE(c.send_spec({spec.data(), spec.size()}));
    REQUIRE(wait_for([&] { return frame_count() == 3; }, 10s));
    auto refused = server.refused();
    relay.arm(false);
    c.send_spec({spec.data(), spec.size()});
    CHECK(wait_for([&] { return server.refused() == refused + 1; }, 10s));
    CHECK(wait_for([&] { return r.ended.load(); }, 10s));
    CHECK(wait_for([] { return lane::writer_of(43) == nullptr; }, 10s));
    CHECK(frame_count() == 3);
  }
  lane::set_handler({});
}

TEST_CASE("in a TLS cluster a lone task's spec and answer go on the lane") {
  manta::local_cluster c;
  lane_worker(c, 4); // room for the next spec while a thread gives its CPU back
  auto direct = manta::get(manta::task(direct_specs).remote(), 20s);
  check_lone_tasks_on_lane();
  // The worker's data path handed them to its pool itself: the 50, and
  // the spec that reads the count.
  CHECK(manta::get(manta::task(direct_specs).remote(), 20s) == direct + 51);
  check_large_answer_on_lane(); // in seven records
}

TEST_CASE("in a TLS cluster a lane near its key's limit is retired: a new lane, no retry spent") {
  namespace a = manta::actors;
  lane::set_retire_records_for_tests(30); // this driver's lanes: a new one every 30 tasks or so
  struct restore {
    ~restore() { lane::set_retire_records_for_tests(0); }
  } restore;
  manta::local_cluster c;
  auto worker = lane_worker(c, 4);
  auto dir = scratch("retire");
  auto opened = a::lane_count(a::lane_event::opened);
  auto retired = a::lane_count(a::lane_event::retired);
  auto closed = a::lane_count(a::lane_event::closed);
  auto resent = a::lane_count(a::lane_event::resent);
  auto renewed = a::lane_count(a::lane_event::sealed_renewed);
  // Long tasks, no retry to spend: they run across the retirements, sent
  // on a lane retired by the time they end. While they run, the lone
  // tasks' answers come over CAF (the worker answers on the lane a task
  // alone there), their specs on the lanes.
  std::vector<manta::object_ref<int>> longs;
  for (int i = 0; i < 3; ++i) {
    auto path = dir + "/long" + std::to_string(i);
    longs.push_back(manta::task(until_told).max_retries(0).remote(path));
    REQUIRE(manta_test::wait_for_text(path, "started", 30s));
  }
  for (int i = 0; i < 150; ++i)
    REQUIRE(manta::get(manta::task(plus_one).max_retries(0).remote(i), 20s) == i + 1);
  CHECK(a::lane_count(a::lane_event::retired) >= retired + 2);
  // The first waits for the long tasks' answers.
  CHECK(a::lane_count(a::lane_event::closed) - closed
        < a::lane_count(a::lane_event::retired) - retired);
  for (int i = 0; i < 3; ++i)
    append(dir + "/long" + std::to_string(i) + ".go", "go");
  for (auto& l : longs)
    CHECK(manta::get(l, 30s) == worker);
  // Alone on the worker: specs and answers on the lanes (a record each
  // way a task), the answers sealed by their readers.
  auto mid = a::lane_count(a::lane_event::retired);
  for (int i = 0; i < 150; ++i)
    REQUIRE(manta::get(manta::task(plus_one).max_retries(0).remote(i), 20s) == i + 1);
  CHECK(a::lane_count(a::lane_event::retired) >= mid + 2);
  CHECK(a::lane_count(a::lane_event::opened) >= opened + 5);
  CHECK(a::lane_count(a::lane_event::resent) == resent); // no task went again
  CHECK(a::lane_count(a::lane_event::sealed_renewed)
        > renewed + 50); // on the new lanes, by their readers
  // Each retired lane closed once its last task was answered.
  CHECK(manta_test::wait_for(
    [&] {
      return a::lane_count(a::lane_event::closed) - closed
             == a::lane_count(a::lane_event::retired) - retired;
    },
    10s));
  std::filesystem::remove_all(dir);
}

TEST_CASE("in a TLS cluster a retryable failure comes back and the task goes on the lane again") {
  manta::local_cluster c;
  lane_worker(c);
  auto dir = scratch("retry");
  check_lane_retry(dir);
  std::filesystem::remove_all(dir);
}

TEST_CASE("in a TLS cluster cancel reaches a lane task while it runs and while it queues") {
  manta::local_cluster c;
  auto worker = lane_worker(c);
  auto dir = scratch("cancel");
  check_lane_cancel(worker, dir);
  std::filesystem::remove_all(dir);
}

TEST_CASE("in a TLS cluster a worker killed with -9 mid-task: the task runs again on another") {
  manta::local_cluster c;
  auto w1 = lane_worker(c);
  auto dir = scratch("kill");
  check_lane_worker_killed(c, w1, dir);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a lane hello in plain TCP to a TLS worker is refused, and no task runs from it") {
  manta::local_cluster c;
  auto dir = scratch("plain_hello");
  auto log = dir + "/worker.log";
  lane_worker(c, 1, log);
  auto port = static_cast<uint16_t>(manta::get(manta::task(data_port_here).remote(), 20s));
  REQUIRE(port != 0);
  // The cluster's token and a real spec of `mark`, in plain TCP: the
  // worker's data path reads them as a TLS ClientHello.
  lane::client plain;
  REQUIRE(plain.connect("127.0.0.1", port, c.token(), 7).empty());
  auto spec = manta::detail::wire::encode(manta_test::task_spec(1234567, "mark", dir + "/plain"));
  plain.send_spec({spec.data(), spec.size()}); // may fail: the worker may have closed already
  CHECK(manta_test::wait_for_text(log, "refused", 20s));
  CHECK(manta_test::read_all(log).find("TLS handshake failed") != std::string::npos);
  // It closed the connection: the reader returns, with nothing read.
  auto answers = lane::answers_read();
  std::atomic<bool> returned{false};
  std::thread reader{[&] {
    plain.read_loop([](uint64_t, std::vector<char>, std::vector<char>) {});
    returned = true;
  }};
  for (auto until = steady::now() + 10s; !returned && steady::now() < until;)
    std::this_thread::sleep_for(1ms);
  CHECK(returned);
  plain.shut();
  reader.join();
  CHECK(lane::answers_read() == answers);
  // The real lane still works, and the plain spec's task never ran.
  CHECK(manta::get(manta::task(mark).remote(dir + "/real"), 20s) == 2);
  CHECK(manta_test::read_all(dir + "/plain").empty());
  CHECK(manta_test::count_of(manta_test::read_all(log), "no owner announced") == 0);
  std::filesystem::remove_all(dir);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
