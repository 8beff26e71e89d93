#include "manta/net/task_lane.hpp"

#include "manta/net/task_lane_tls.hpp"
#include "manta/net/tls_records.hpp"
#include "manta/net/tls_session.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace manta::detail::task_lane {

bool enabled() noexcept {
  static const bool on = [] {
    auto* env = std::getenv("MANTA_TASK_LANE");
    return env != nullptr && std::strcmp(env, "1") == 0;
  }();
  return on;
}

namespace {
std::atomic<uint64_t> specs_count{0};
std::atomic<uint64_t> answers_count{0};
std::atomic<uint64_t> retire_at{tls_records::retire_after};
} // namespace

uint64_t specs_sent() noexcept {
  return specs_count.load(std::memory_order_relaxed);
}

uint64_t retire_records() noexcept {
  return retire_at.load(std::memory_order_relaxed);
}

void set_retire_records_for_tests(uint64_t n) noexcept {
  retire_at.store(n == 0 ? tls_records::retire_after : n, std::memory_order_relaxed);
}

uint64_t answers_read() noexcept {
  return answers_count.load(std::memory_order_relaxed);
}

bool write_all(int fd, std::span<const std::span<const char>> parts, int timeout_ms) {
  std::array<iovec, 4> iov{};
  size_t n = 0;
  for (auto& p : parts)
    if (!p.empty() && n < iov.size())
      iov[n++] = iovec{const_cast<char*>(p.data()), p.size()};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{timeout_ms};
  size_t first = 0;
  while (first < n) {
    msghdr msg{};
    msg.msg_iov = iov.data() + first;
    msg.msg_iovlen = n - first;
    auto sent = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        return false;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return false;
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
      continue;
    }
    auto done = static_cast<size_t>(sent);
    while (first < n && done >= iov[first].iov_len)
      done -= iov[first++].iov_len;
    if (first < n) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + done;
      iov[first].iov_len -= done;
    }
  }
  return true;
}

namespace {

/// How long a writer waits for room on the socket before it takes the lane
/// for broken.
constexpr int write_timeout_ms = 10'000;

int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

struct registry {
  std::mutex mtx;
  std::unordered_map<uint64_t, std::shared_ptr<writer>> writers;
  handler on_frame;
};

registry& reg() {
  static auto* r = new registry; // used by threads until the process ends
  return *r;
}

} // namespace

// -- the worker's side -------------------------------------------------------------

writer::writer(int fd, std::shared_ptr<tls_session> tls) : fd_(fd), tls_(std::move(tls)) {}

writer::~writer() = default;

bool writer::send_result(uint64_t id, std::span<const char> message, std::span<const char> beside) {
  frame f{magic, result, id, message.size(), beside.size()};
  std::array<std::span<const char>, 3> parts{
    std::span<const char>{reinterpret_cast<const char*>(&f), sizeof(f)}, message, beside};
  return write(parts);
}

bool writer::send_pong(uint64_t id) {
  frame f{magic, pong, id, 0, 0};
  std::array<std::span<const char>, 1> parts{
    std::span<const char>{reinterpret_cast<const char*>(&f), sizeof(f)}};
  return write(parts);
}

bool writer::write(std::span<const std::span<const char>> parts) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!open_)
    return false;
  bool sent = tls_ ? write_sealed(*tls_, fd_, parts, write_timeout_ms, staging_)
                   : write_all(fd_, parts, write_timeout_ms);
  if (!sent) {
    open_ = false; // half a frame may be out: the driver drops the connection's last frame
    ::shutdown(fd_, SHUT_RDWR);
    return false;
  }
  return true;
}

void writer::close() noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  open_ = false;
}

void attach(uint64_t key, const std::shared_ptr<writer>& w) {
  std::lock_guard<std::mutex> guard{reg().mtx};
  reg().writers[key] = w;
}

void detach(uint64_t key) noexcept {
  std::lock_guard<std::mutex> guard{reg().mtx};
  reg().writers.erase(key);
}

std::shared_ptr<writer> writer_of(uint64_t key) {
  std::lock_guard<std::mutex> guard{reg().mtx};
  auto i = reg().writers.find(key);
  return i == reg().writers.end() ? nullptr : i->second;
}

void set_handler(handler h) {
  std::lock_guard<std::mutex> guard{reg().mtx};
  reg().on_frame = std::move(h);
}

bool deliver(uint64_t key, const frame& f, std::vector<char> payload, later* run) {
  handler h;
  {
    std::lock_guard<std::mutex> guard{reg().mtx};
    h = reg().on_frame;
  }
  if (!h)
    return false;
  h(key, f, std::move(payload), run);
  return true;
}

// -- the driver's side -------------------------------------------------------------

namespace {

/// The driver's lanes of this process that connected, for the tests' hooks.
struct client_list {
  std::mutex mtx;
  std::vector<client*> all;
};

client_list& clients() {
  static auto* l = new client_list; // used by threads until the process ends
  return *l;
}

/// The data path's client handshake on the connected socket `fd` (made
/// non-blocking for good: the lane's reads and writes wait with poll);
/// "" with `session` set, or why not.
std::string tls_start(data_path_tls& tls, int fd, std::unique_ptr<tls_session>& session) {
  if (int fl = ::fcntl(fd, F_GETFL); fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return std::strerror(errno);
  try {
    session = std::make_unique<tls_session>(tls, tls_session::role::client, fd);
  } catch (const std::exception& e) {
    return e.what();
  }
  auto why = tls_handshake(*session, fd, write_timeout_ms);
  if (!why.empty())
    why += " (the worker does not use TLS, or its certificate and this process's are not signed "
           "by the same CA)";
  return why;
}

} // namespace

client::client() = default;

client::~client() {
  {
    std::lock_guard<std::mutex> guard{clients().mtx};
    std::erase(clients().all, this);
  }
  if (fd_ >= 0)
    ::close(fd_);
}

std::string client::connect(const std::string& host, uint16_t port, const std::string& token,
                            uint64_t key, const std::shared_ptr<data_path_tls>& tls) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (auto rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return std::string{"cannot resolve "} + host + ": " + ::gai_strerror(rc);
  int fd = -1;
  std::string why = "no address";
  for (auto* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0)
      continue;
    // Bounds the connect, and then each blocking write (a worker that
    // stopped reading).
    timeval limit{3, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      why = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0)
    return "cannot connect to " + host + ":" + std::to_string(port) + ": " + why;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::unique_ptr<tls_session> session;
  if (tls) {
    if (auto why = tls_start(*tls, fd, session); !why.empty()) {
      ::close(fd);
      return "TLS handshake with " + host + ":" + std::to_string(port) + " failed: " + why;
    }
  }
  frame f{magic, hello, key, token.size(), 0};
  std::array<std::span<const char>, 2> parts{
    std::span<const char>{reinterpret_cast<const char*>(&f), sizeof(f)},
    std::span<const char>{token.data(), token.size()}};
  if (session ? !write_sealed(*session, fd, parts, write_timeout_ms, staging_)
              : !write_all(fd, parts, write_timeout_ms)) {
    ::close(fd);
    return "cannot say hello to " + host + ":" + std::to_string(port);
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (shut_) {
      // Ended while it connected (its node was lost, or attached again): a
      // lane nobody writes or shuts any more would keep its reader in recv
      // for as long as the worker lives, and the client's end waits for it.
      ::close(fd);
      return "the lane was ended while it connected";
    }
    fd_ = fd;
    tls_ = std::move(session);
    up_ = true;
    last_read_.store(now_ns(), std::memory_order_relaxed);
  }
  // Not under `mtx_`: the tests' hooks take the list's lock first.
  std::lock_guard<std::mutex> listed{clients().mtx};
  clients().all.push_back(this);
  return "";
}

bool client::up() const noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  return up_;
}

bool client::send(const frame& f, std::span<const char> payload) {
  std::array<std::span<const char>, 2> parts{
    std::span<const char>{reinterpret_cast<const char*>(&f), sizeof(f)}, payload};
  std::lock_guard<std::mutex> guard{mtx_};
  if (!up_)
    return false;
  if (lose_specs_.load(std::memory_order_relaxed))
    return true; // tests: lost on its way
  if (tls_ ? !write_sealed(*tls_, fd_, parts, write_timeout_ms, staging_)
           : !write_all(fd_, parts, write_timeout_ms)) {
    // Half a frame may be out: the worker drops the connection with it.
    up_ = false;
    ::shutdown(fd_, SHUT_RDWR);
    return false;
  }
  if (tls_ && tls_->sealed_records() >= retire_records())
    worn_.store(true, std::memory_order_relaxed);
  return true;
}

bool client::send_spec(std::span<const char> spec) {
  // Counted before the write: the lane's reader may seal the task's answer,
  // and wake its getter, before the write returns here.
  specs_count.fetch_add(1, std::memory_order_relaxed);
  if (send(frame{magic, task_lane::spec, 0, spec.size(), 0}, spec))
    return true;
  specs_count.fetch_sub(1, std::memory_order_relaxed);
  return false;
}

bool client::send_cancel(uint64_t id, bool force, bool recursive) {
  uint64_t flags = (force ? 1U : 0U) | (recursive ? 2U : 0U);
  return send(frame{magic, cancel, id, 0, flags}, {});
}

bool client::send_ping() {
  return send(frame{magic, ping, ++pings_, 0, 0}, {});
}

bool client::stalled(std::chrono::milliseconds limit) const noexcept {
  auto gap = now_ns() - last_read_.load(std::memory_order_relaxed);
  return gap > std::chrono::duration_cast<std::chrono::nanoseconds>(limit).count();
}

void client::reset() noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  up_ = false;
  if (fd_ >= 0)
    ::shutdown(fd_, SHUT_RDWR);
}

namespace {

/// Reads exactly `n` bytes; false at the connection's end or an error.
bool read_exact(int fd, char* p, size_t n) {
  while (n > 0) {
    auto got = ::recv(fd, p, n, 0);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

} // namespace

bool client::read_loop(
  const std::function<void(uint64_t, std::vector<char>, std::vector<char>)>& on_result) {
  int fd = -1;
  tls_session* tls = nullptr;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    fd = fd_;
    tls = tls_.get();
  }
  std::string why;
  // With TLS, a record that does not open (it did not authenticate, or is
  // no record) ends the lane as the connection's end does: the reader
  // closes it, so the worker answers its later tasks the usual way.
  auto read = [&](char* p, size_t n) {
    if (tls == nullptr)
      return read_exact(fd, p, n);
    if (read_opened(*tls, fd, p, n))
      return true;
    if (!tls->connection_ended())
      why = tls->read_error();
    return false;
  };
  while (fd >= 0) {
    frame f{};
    if (!read(reinterpret_cast<char*>(&f), sizeof(f)))
      break;
    if (f.magic != magic || (f.kind != result && f.kind != pong) || f.length > max_frame
        || f.extra > max_frame || (f.kind == pong && f.length + f.extra != 0)) {
      why = "a frame that is no task lane answer";
      break; // a broken peer
    }
    // Tests: what it carries is lost on its way (an answer counted first).
    bool lost = lose_answers_.load(std::memory_order_relaxed);
    if (!lost)
      last_read_.store(now_ns(), std::memory_order_relaxed); // it moves
    if (f.kind == pong)
      continue;
    std::vector<char> message(f.length);
    std::vector<char> beside(f.extra);
    if (!read(message.data(), message.size()) || !read(beside.data(), beside.size()))
      break; // half a frame: dropped (its writer answers the usual way)
    answers_count.fetch_add(1, std::memory_order_relaxed);
    if (tls != nullptr && tls->opened_records() >= retire_records())
      worn_.store(true, std::memory_order_relaxed);
    if (!lost)
      on_result(f.id, std::move(message), std::move(beside));
  }
  std::lock_guard<std::mutex> guard{mtx_};
  up_ = false;
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  ended_for_ = std::move(why);
  return !shut_;
}

std::string client::ended_for() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return ended_for_;
}

void client::shut() noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  shut_ = true;
  up_ = false;
  if (fd_ >= 0)
    ::shutdown(fd_, SHUT_RDWR);
}

void lose_lanes_for_tests(bool specs) {
  std::lock_guard<std::mutex> guard{clients().mtx};
  for (auto* c : clients().all) {
    c->lose_answers_.store(true, std::memory_order_relaxed);
    c->lose_specs_.store(specs, std::memory_order_relaxed);
  }
}

size_t break_lanes_for_tests() {
  std::lock_guard<std::mutex> guard{clients().mtx};
  size_t n = 0;
  for (auto* c : clients().all) {
    std::lock_guard<std::mutex> lane{c->mtx_};
    if (c->fd_ >= 0 && c->up_) {
      ::shutdown(c->fd_, SHUT_RDWR);
      ++n;
    }
  }
  return n;
}

} // namespace manta::detail::task_lane
