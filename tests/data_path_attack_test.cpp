// Attacks on the raw data path (object_transfer.hpp), as an intruder without
// the cluster token would make them, against real transfer servers: in this
// process, and in a child process (this binary started again with --serve)
// where the case needs a process of its own (a low descriptor limit, its
// CPU time, a transfer between two processes). Each case asserts that the
// server stays bounded (threads, connections, memory, log lines) and keeps
// serving a legitimate reader.

#define DOCTEST_CONFIG_IMPLEMENT

#include <doctest/doctest.h>
#include <manta/net/data_path_tls.hpp>
#include <manta/store/held_objects.hpp>
#include <manta/net/fetch_loop.hpp>
#include <manta/cluster/object_fetch.hpp>
#include <manta/net/object_transfer.hpp>
#include <manta/net/transfer_protocol.hpp>

#include "tests/loopback_socket.hpp"
#include "tests/rss_bytes.hpp"
#include "tests/test_pki.hpp"
#include "tests/wait_for.hpp"
#include "tests/byte_pattern.hpp"
#include "tools/raw_stream.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace manta::detail;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

constexpr uint64_t object = 7;
const std::string token = "secret";

using manta_test::pattern;

/// A transfer server on 127.0.0.1 holding object 7 (`n` bytes of pattern).
struct served {
  std::shared_ptr<std::vector<char>> bytes;
  transfer_server server;
  explicit served(size_t n, transfer_limits limits = {}, std::shared_ptr<data_path_tls> tls = {})
    : bytes(pattern(n)), server(
                           "127.0.0.1", token,
                           [b = bytes](uint64_t id) -> std::optional<held_bytes> {
                             if (id != object)
                               return std::nullopt;
                             return held_bytes{b, b->data(), b->size(), nullptr};
                           },
                           std::move(tls), limits) {}
  uint16_t port() const { return server.port(); }
};

using manta_test::rss_bytes;
using manta_test::wait_for;

int thread_count(const std::string& proc = "/proc/self") {
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator{proc + "/task"})
    ++n;
  return n;
}

/// User plus system CPU time of process `pid`.
std::chrono::milliseconds cpu_time(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  auto rest = text.substr(text.rfind(')') + 2);
  std::istringstream fields{rest};
  std::string f;
  long utime = 0;
  long stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14)
      utime = std::stol(f);
    if (i == 15)
      stime = std::stol(f);
  }
  return std::chrono::milliseconds{(utime + stime) * 1000 / ::sysconf(_SC_CLK_TCK)};
}

void raise_fd_limit(rlim_t want) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = std::min(want, lim.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &lim);
}

rlim_t fd_limit() {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

using manta_test::tcp_connect;

/// Closes its descriptors when it goes.
struct fd_set_guard {
  std::vector<int> fds;
  ~fd_set_guard() { close_all(); }
  void close_all() {
    for (int fd : fds)
      if (fd >= 0)
        ::close(fd);
    fds.clear();
  }
};

/// Whether the server closed `fd` (reads and drops whatever it sent).
bool closed_by_peer(int fd) {
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0)
      return true;
    if (n < 0)
      return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  }
}

bool send_all(int fd, const void* data, size_t n) {
  return manta_tools::whole(
    [fd](const char* p, uint64_t k) { return ::send(fd, p, k, MSG_NOSIGNAL); },
    static_cast<const char*>(data), n);
}

/// Reads exactly `n` bytes (false on EOF or error).
bool recv_all(int fd, void* data, size_t n) {
  return manta_tools::whole([fd](char* p, uint64_t k) { return ::recv(fd, p, k, 0); },
                            static_cast<char*>(data), n);
}

transfer_protocol::request header(uint32_t token_len, uint64_t offset, uint64_t length) {
  return {transfer_protocol::magic, token_len, object, offset, length};
}

/// Sends `r` (and `tok`), then reads the answer's header and message.
transfer_protocol::answer ask(int fd, const transfer_protocol::request& r, const std::string& tok,
                              std::string& message) {
  transfer_protocol::answer a{99, 0, 0};
  if (!send_all(fd, &r, sizeof(r)) || !send_all(fd, tok.data(), tok.size()))
    return a;
  if (!recv_all(fd, &a, sizeof(a)) || a.message_len > 4096)
    return transfer_protocol::answer{99, 0, 0};
  message.resize(a.message_len);
  recv_all(fd, message.data(), message.size());
  return a;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

size_t count_lines(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++n;
  return n;
}

/// Writes this process's stderr to a file while it lives.
class stderr_capture {
public:
  stderr_capture() {
    char tmpl[] = "/tmp/manta-data-path-log-XXXXXX";
    int fd = ::mkstemp(tmpl);
    path_ = tmpl;
    std::fflush(stderr);
    saved_ = ::dup(2);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~stderr_capture() {
    restore();
    ::unlink(path_.c_str());
  }
  std::string text() const { return read_file(path_); }
  void restore() {
    if (saved_ < 0)
      return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }

private:
  std::string path_;
  int saved_ = -1;
};

/// This binary started again as a transfer server (see `serve_main`):
/// commands on its stdin, answers on its stdout, its stderr in a file.
class child_server {
public:
  /// `fd_limit`: its RLIMIT_NOFILE (0: unchanged); `mib`: the size of the
  /// object it serves; `tls`: the files of its data path TLS, if any.
  child_server(rlim_t fd_limit, size_t mib, const manta::tls_options& tls = {}) {
    char tmpl[] = "/tmp/manta-data-path-child-XXXXXX";
    int log = ::mkstemp(tmpl);
    log_ = tmpl;
    int in[2];
    int out[2];
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    std::vector<std::string> args{"/proc/self/exe", "--serve", std::to_string(fd_limit),
                                  std::to_string(mib)};
    if (tls.enabled())
      args.insert(args.end(), {tls.certificate, tls.key, tls.ca_file});
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(log, 2);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(log);
    to_ = in[1];
    from_ = out[0];
    auto first = line();
    REQUIRE_MESSAGE(!first.empty(), "the child server did not start: " << read_file(log_));
    port_ = static_cast<uint16_t>(std::stoi(first));
  }

  ~child_server() {
    ::close(to_); // it exits at the end of its input
    bool gone = wait_for([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 10s);
    if (!gone) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(from_);
    ::unlink(log_.c_str());
  }

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(log_); }

  /// Sends a command, returns the answer line ("" after 10 s without one).
  std::string ask(const std::string& command) {
    auto text = command + "\n";
    REQUIRE(send_line(text));
    return line();
  }

  struct stats {
    size_t connections = 0, dropped = 0, refused = 0, cap = 0;
    int threads = 0;
  };
  stats counts() {
    stats s;
    std::istringstream in{ask("stats")};
    in >> s.connections >> s.dropped >> s.refused >> s.cap >> s.threads;
    return s;
  }

private:
  bool send_line(const std::string& text) {
    return ::write(to_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  }

  std::string line() {
    std::string out;
    auto until = steady::now() + 10s;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now());
      pollfd p{from_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1)
        return {};
      char c = 0;
      if (::read(from_, &c, 1) != 1)
        return {};
      if (c == '\n')
        return out;
      out += c;
    }
  }

  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

/// The child's side: serves object 7 until its input ends, answering
/// `stats`, `fill` (takes every free descriptor, as a busy node might) and
/// `free` (gives them back).
int serve_main(int argc, char** argv) {
  if (argc < 4)
    return 2;
  if (auto limit = std::stoul(argv[2]); limit > 0) {
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = limit;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  std::shared_ptr<data_path_tls> tls;
  if (argc >= 7) {
    std::string err;
    tls = data_path_tls::make({argv[4], argv[5], argv[6]}, err);
    if (!tls) {
      std::fprintf(stderr, "%s\n", err.c_str());
      return 1;
    }
  }
  served s{std::stoul(argv[3]) << 20, {}, tls};
  std::printf("%u\n", s.port());
  std::fflush(stdout);
  std::vector<int> filler;
  std::string command;
  while (std::getline(std::cin, command)) {
    if (command == "stats") {
      std::printf("%zu %zu %zu %zu %d\n", s.server.connections(), s.server.dropped(),
                  s.server.refused(), s.server.max_connections(), thread_count());
    } else if (command == "fill") {
      for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
        filler.push_back(fd);
      std::printf("filled %zu\n", filler.size());
    } else if (command == "free") {
      for (int fd : filler)
        ::close(fd);
      filler.clear();
      std::printf("freed\n");
    }
    std::fflush(stdout);
  }
  return 0;
}

#define SKIP_WITHOUT_OPENSSL()                                                              \
  if (!manta_test::test_pki::have_openssl()) {                                              \
    MESSAGE("skipped: the openssl command line tool is missing (apt-get install openssl)"); \
    return;                                                                                 \
  }

} // namespace

TEST_CASE("2,000 idle connections: threads stay fixed, the cap holds, a reader still gets in") {
  raise_fd_limit(8192);
  REQUIRE_MESSAGE(fd_limit() >= 2600, "this case needs 2,600 file descriptors (ulimit -n)");
  served s{24u << 20};
  REQUIRE(s.server.max_connections() == 256);
  fetch_loop::instance(); // the readers' loop: its fixed threads count from here
  auto threads = thread_count();
  fd_set_guard intruders;
  for (int i = 0; i < 2000; ++i) {
    int fd = tcp_connect(s.port());
    REQUIRE(fd >= 0);
    intruders.fds.push_back(fd);
  }
  // Beyond the cap each newcomer pushed out the oldest connection that had
  // shown no token: 1,744 of them are closed, 256 stay.
  std::vector<bool> closed(intruders.fds.size());
  size_t n_closed = 0;
  CHECK(wait_for(
    [&] {
      for (size_t i = 0; i < closed.size(); ++i)
        if (!closed[i] && closed_by_peer(intruders.fds[i])) {
          closed[i] = true;
          ++n_closed;
        }
      return n_closed >= 2000 - 256;
    },
    10s));
  CHECK(n_closed == 2000 - 256);
  CHECK(s.server.connections() <= 256);
  CHECK(s.server.dropped() >= 2000 - 256);
  // No thread per connection (the old server had 2,008 here).
  CHECK(thread_count() == threads);
  // A reader with the token gets its object while the intruders stay.
  std::vector<char> out;
  CHECK(fetch_object("127.0.0.1", s.port(), token, object, s.bytes->size(), out, 2) == "");
  CHECK(out == *s.bytes);
  // Closed connections are released at once, not on the next accept (the
  // reader's, kept for its next read, close too).
  fetch_loop::instance().pool().close_all();
  intruders.close_all();
  CHECK(wait_for([&] { return s.server.connections() == 0; }, 5s));
  CHECK(thread_count() == threads);
}

TEST_CASE("descriptors run out: accepting backs off, and the node recovers once they free up") {
  raise_fd_limit(8192);
  child_server node{256, 8};
  auto start = node.counts();
  CHECK(start.cap == 64); // a quarter of its 256 descriptors
  fd_set_guard intruders;
  for (int i = 0; i < 300; ++i) {
    int fd = tcp_connect(node.port());
    REQUIRE(fd >= 0);
    intruders.fds.push_back(fd);
  }
  CHECK(wait_for(
    [&] {
      auto c = node.counts();
      return c.connections <= c.cap && c.dropped >= 300 - c.cap;
    },
    10s));
  auto during = node.counts();
  CHECK(during.threads == start.threads);
  // The intruders go: the node releases their descriptors at once.
  intruders.close_all();
  CHECK(wait_for([&] { return node.counts().connections == 0; }, 5s));
  // Every descriptor taken (by the node's other work, say): accept fails
  // with "too many open files" and must neither spin nor give up.
  auto filled = node.ask("fill");
  REQUIRE(contains(filled, "filled"));
  int waiting = tcp_connect(node.port()); // queued in the backlog
  REQUIRE(waiting >= 0);
  CHECK(wait_for([&] { return contains(node.log(), "Too many open files"); }, 5s));
  auto cpu_before = cpu_time(node.pid());
  std::this_thread::sleep_for(1s); // a window to measure CPU time in, not a wait
  auto cpu_spent = cpu_time(node.pid()) - cpu_before;
  CHECK(cpu_spent < 100ms); // a loop on accept() burns the whole window
  CHECK(node.ask("free") == "freed");
  ::close(waiting);
  // A legitimate reader gets through within a deadline.
  auto t0 = steady::now();
  std::vector<char> out;
  CHECK(fetch_object("127.0.0.1", node.port(), token, object, 8u << 20, out) == "");
  CHECK(steady::now() - t0 < 5s);
  CHECK(out == *pattern(8u << 20));
  // The accept failures were logged, a few lines, not one per try.
  CHECK(count_lines(node.log(), "cannot accept") <= 4);
}

TEST_CASE("headers announcing huge lengths are refused before anything is allocated") {
  served s{8u << 20};
  auto rss = rss_bytes();
  stderr_capture log;
  struct attempt {
    transfer_protocol::request r;
    std::string tok;
    const char* why;
  };
  const attempt attempts[] = {
    {header(0xFFFFFFFFu, 0, 100), "", "wrong length"},            // a 4 GiB token
    {header(0, 0, 100), "", "wrong length"},                      // none at all
    {header(6, 0, uint64_t{1} << 40), token, "more than 64 MiB"}, // a 1 TiB answer
    {header(6, 0, ~uint64_t{0}), token, "more than 64 MiB"},
    {header(6, ~uint64_t{0} - 10, 100), token, "overflows"},
    {{0x4e4f5045, 6, object, 0, 100}, token, "not a Manta object request"},
  };
  size_t refused = 0;
  for (int round = 0; round < 50; ++round)
    for (auto& a : attempts) {
      CAPTURE(a.why);
      int fd = tcp_connect(s.port());
      REQUIRE(fd >= 0);
      std::string message;
      auto answer = ask(fd, a.r, a.tok, message);
      CHECK(answer.status == transfer_protocol::refused_status);
      CHECK(answer.length == 0);
      CHECK(contains(message, a.why));
      CHECK(wait_for([&] { return closed_by_peer(fd); }, 5s)); // and hung up
      ::close(fd);
      ++refused;
    }
  CHECK(s.server.refused() == refused);
  CHECK(rss_bytes() < rss + (64u << 20));
  // 300 refusals, a handful of log lines.
  log.restore();
  auto text = log.text();
  CHECK(count_lines(text, "refused") >= 1);
  CHECK(count_lines(text, "refused") <= 5);
  // The server still serves.
  std::vector<char> out;
  CHECK(fetch_object("127.0.0.1", s.port(), token, object, s.bytes->size(), out) == "");
  CHECK(out == *s.bytes);
}

TEST_CASE("a reader refuses an answer announcing a huge message, without allocating it") {
  asio::io_context io;
  tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
  std::thread liar{[&] {
    boost::system::error_code ec;
    tcp::socket s{io};
    acceptor.accept(s, ec);
    char request[32 + 6];
    asio::read(s, asio::buffer(request), ec);
    transfer_protocol::answer a{transfer_protocol::not_here, 0xFFFFFFF0u, 0};
    asio::write(s, asio::buffer(&a, sizeof(a)), ec);
    char rest[1];
    asio::read(s, asio::buffer(rest), ec); // until the reader hangs up
  }};
  auto rss = rss_bytes();
  std::vector<char> out;
  auto why = fetch_object("127.0.0.1", acceptor.local_endpoint().port(), token, object, 100, out);
  liar.join();
  CHECK(contains(why, "no Manta object transfer answer"));
  CHECK(rss_bytes() < rss + (64u << 20));
}

TEST_CASE("idle and stalled connections are closed after their timeouts") {
  transfer_limits limits;
  limits.stall_timeout = 300ms;
  limits.idle_timeout = 800ms;
  served s{24u << 20, limits};
  fd_set_guard c;
  for (int i = 0; i < 5; ++i) {
    c.fds.push_back(tcp_connect(s.port()));
    REQUIRE(c.fds.back() >= 0);
  }
  // 0: sends nothing. 1: half a header. 2: a header, then half its token.
  auto full = header(6, 0, s.bytes->size());
  send_all(c.fds[1], &full, 16);
  send_all(c.fds[2], &full, sizeof(full));
  send_all(c.fds[2], token.data(), 3);
  // 3: asks for 24 MiB and never reads them (the server's writes stall).
  send_all(c.fds[3], &full, sizeof(full));
  send_all(c.fds[3], token.data(), token.size());
  // 4: a reader that got its answer, then stays idle.
  std::string message;
  auto small = header(6, 0, 1000);
  auto a = ask(c.fds[4], small, token, message);
  REQUIRE(a.status == transfer_protocol::ok);
  std::vector<char> data(a.length);
  REQUIRE(recv_all(c.fds[4], data.data(), data.size()));
  auto answered = steady::now();
  steady::time_point idle_closed{};
  CHECK(wait_for(
    [&] {
      if (idle_closed == steady::time_point{} && closed_by_peer(c.fds[4]))
        idle_closed = steady::now();
      return closed_by_peer(c.fds[0]) && closed_by_peer(c.fds[1]) && closed_by_peer(c.fds[2])
             && idle_closed != steady::time_point{} && s.server.connections() == 0;
    },
    10s));
  CHECK(s.server.dropped() == 5);
  // The idle reader had its idle timeout, longer than the stall timeout.
  CHECK(idle_closed - answered >= 500ms);
  std::vector<char> out;
  CHECK(fetch_object("127.0.0.1", s.port(), token, object, s.bytes->size(), out) == "");
  CHECK(out == *s.bytes);
}

TEST_CASE("TLS: a transfer between two processes; plain and foreign peers get nothing") {
  SKIP_WITHOUT_OPENSSL();
  manta_test::test_pki pki;
  pki.make_ca("ca");
  pki.make_ca("other");
  auto node = pki.make_node("node", "ca");
  auto stranger = pki.make_node("stranger", "other");
  std::string err;
  auto tls = data_path_tls::make(node, err);
  REQUIRE_MESSAGE(tls, err);
  // Between two processes: a child node serving with TLS, read here.
  {
    child_server other{0, 24, node};
    std::vector<char> out;
    CHECK(fetch_object("127.0.0.1", other.port(), token, object, 24u << 20, out, 2, tls) == "");
    CHECK(out == *pattern(24u << 20));
  }
  served s{8u << 20, {}, tls};
  std::vector<char> out;
  CHECK(fetch_object("127.0.0.1", s.port(), token, object, s.bytes->size(), out, 1, tls) == "");
  CHECK(out == *s.bytes);
  // A plain reader, token and all, gets nothing, and is told about TLS.
  std::vector<char> plain_out;
  auto plain = fetch_object("127.0.0.1", s.port(), token, object, s.bytes->size(), plain_out, 1,
                            nullptr);
  CHECK(contains(plain, "failed"));
  CHECK(contains(plain, "TLS"));
  CHECK(s.server.refused() >= 1);
  // A reader whose certificate another CA signed does not accept the
  // server, and says why.
  auto foreign = data_path_tls::make(stranger, err);
  REQUIRE_MESSAGE(foreign, err);
  auto refused = fetch_object("127.0.0.1", s.port(), token, object, 100, out, 1, foreign);
  CHECK(contains(refused, "TLS handshake"));
  CHECK(contains(refused, "same CA"));
  // An intruder that trusts the cluster's CA but has no certificate of it
  // (a foreign one, or none): the server checks readers too, so even with
  // the token it never gets an answer.
  for (bool with_cert : {true, false}) {
    CAPTURE(with_cert);
    asio::ssl::context ctx{asio::ssl::context::tls_client};
    ctx.load_verify_file(node.ca_file);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    if (with_cert) {
      ctx.use_certificate_chain_file(stranger.certificate);
      ctx.use_private_key_file(stranger.key, asio::ssl::context::pem);
    }
    asio::io_context io;
    asio::ssl::stream<tcp::socket> intruder{io, ctx};
    intruder.next_layer().connect({asio::ip::make_address("127.0.0.1"), s.port()});
    boost::system::error_code ec;
    intruder.handshake(asio::ssl::stream_base::client, ec); // TLS 1.3: the client's side ends first
    if (!ec) {
      auto r = header(6, 0, 100);
      asio::write(intruder, asio::buffer(&r, sizeof(r)), ec);
      asio::write(intruder, asio::buffer(token), ec);
      transfer_protocol::answer a{};
      asio::read(intruder, asio::buffer(&a, sizeof(a)), ec);
    }
    CHECK(ec); // the server ended the handshake: no answer
  }
  // A TLS reader at a plain server is told so too.
  served plain_server{1u << 20};
  auto mismatch = fetch_object("127.0.0.1", plain_server.port(), token, object, 100, out, 1, tls);
  CHECK(contains(mismatch, "does not use TLS"));
  // Still serving.
  CHECK(fetch_object("127.0.0.1", s.port(), token, object, s.bytes->size(), out, 2, tls) == "");
  CHECK(out == *s.bytes);
}

TEST_CASE("TLS: the data path's records are OpenSSL's; a forged record ends the connection") {
  // The session seals and opens its application records itself after
  // OpenSSL's handshake (tls_records.hpp): a reader using OpenSSL's own
  // record layer (Boost.Asio's ssl::stream) must read the same bytes, and
  // a record that does not authenticate must get nothing.
  SKIP_WITHOUT_OPENSSL();
  manta_test::test_pki pki;
  pki.make_ca("ca");
  auto node = pki.make_node("node", "ca");
  std::string err;
  auto tls = data_path_tls::make(node, err);
  REQUIRE_MESSAGE(tls, err);
  served s{3u << 20, {}, tls};
  asio::ssl::context ctx{asio::ssl::context::tls_client};
  ctx.load_verify_file(node.ca_file);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  ctx.use_certificate_chain_file(node.certificate);
  ctx.use_private_key_file(node.key, asio::ssl::context::pem);
  asio::io_context io;
  for (bool forged : {false, true}) {
    CAPTURE(forged);
    asio::ssl::stream<tcp::socket> reader{io, ctx};
    reader.next_layer().connect({asio::ip::make_address("127.0.0.1"), s.port()});
    reader.handshake(asio::ssl::stream_base::client);
    boost::system::error_code ec;
    if (forged) {
      // A record header and 40 bytes no key sealed, on the raw socket.
      std::vector<unsigned char> record{23, 3, 3, 0, 40};
      record.resize(5 + 40, 0x5a);
      asio::write(reader.next_layer(), asio::buffer(record));
      transfer_protocol::answer a{};
      asio::read(reader, asio::buffer(&a, sizeof(a)), ec);
      CHECK(ec); // closed without an answer
      continue;
    }
    // Two requests, so answers span many records: 1 MiB from 5 bytes in,
    // then the rest.
    for (auto [offset, length] : {std::pair<uint64_t, uint64_t>{5, 1u << 20},
                                  std::pair<uint64_t, uint64_t>{(1u << 20) + 5, 2u << 20}}) {
      auto r = header(static_cast<uint32_t>(token.size()), offset, length);
      asio::write(reader, asio::buffer(&r, sizeof(r)));
      asio::write(reader, asio::buffer(token));
      transfer_protocol::answer a{};
      asio::read(reader, asio::buffer(&a, sizeof(a)));
      REQUIRE(a.status == transfer_protocol::ok);
      REQUIRE(a.message_len == 0);
      uint64_t expected = std::min<uint64_t>(length, s.bytes->size() - offset);
      REQUIRE(a.length == expected);
      std::vector<char> got(expected);
      asio::read(reader, asio::buffer(got));
      CHECK(
        std::equal(got.begin(), got.end(), s.bytes->begin() + static_cast<std::ptrdiff_t>(offset)));
    }
  }
  // Still serving its own readers.
  std::vector<char> out;
  CHECK(fetch_object("127.0.0.1", s.port(), token, object, s.bytes->size(), out, 2, tls) == "");
  CHECK(out == *s.bytes);
}

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view{argv[1]} == "--serve")
    return serve_main(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
