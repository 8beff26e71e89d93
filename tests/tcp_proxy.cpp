#include "tests/tcp_proxy.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace manta_test {

namespace {

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/// Closes `fd` with a reset instead of the orderly goodbye.
void reset_close(int fd) {
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  ::close(fd);
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

} // namespace

tcp_proxy::tcp_proxy(uint16_t target) : target_(target) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = loopback(0);
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0
      || ::listen(listen_fd_, 64) != 0
      || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0
      || ::pipe2(wake_fd_, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::runtime_error("tcp_proxy: cannot listen on 127.0.0.1");
  port_ = ntohs(addr.sin_port);
  set_nonblocking(listen_fd_);
  thread_ = std::thread{[this] { run(); }};
}

tcp_proxy::~tcp_proxy() {
  stop_.store(true);
  wake();
  thread_.join();
  for (auto& l : links_)
    close_link(*l, true);
  for (auto& l : stalled_)
    close_link(*l, true);
  ::close(listen_fd_);
  ::close(wake_fd_[0]);
  ::close(wake_fd_[1]);
}

void tcp_proxy::wake() {
  char c = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_[1], &c, 1);
}

template <class T>
T tcp_proxy::on_loop(std::function<T()> f) {
  auto done = std::make_shared<std::promise<T>>();
  auto result = done->get_future();
  {
    std::lock_guard<std::mutex> guard{mtx_};
    tasks_.push_back([f = std::move(f), done] { done->set_value(f()); });
  }
  wake();
  return result.get();
}

size_t tcp_proxy::cut() {
  return on_loop<size_t>([this] {
    auto n = links_.size();
    for (auto& l : links_)
      close_link(*l, true);
    links_.clear();
    stats_.cut += n;
    return n;
  });
}

size_t tcp_proxy::stall() {
  return on_loop<size_t>([this] {
    auto n = links_.size();
    for (auto& l : links_)
      stalled_.push_back(std::move(l));
    links_.clear();
    stats_.stalled += n;
    return n;
  });
}

void tcp_proxy::refuse_for(std::chrono::milliseconds d) {
  on_loop<bool>([this, d] {
    refuse_until_ = clock::now() + d;
    return true;
  });
}

tcp_proxy::counters tcp_proxy::stats() {
  return on_loop<counters>([this] {
    auto out = stats_;
    out.live = links_.size();
    return out;
  });
}

void tcp_proxy::close_link(link& l, bool reset) {
  for (auto& fd : l.fd) {
    if (fd < 0)
      continue;
    if (reset)
      reset_close(fd);
    else
      ::close(fd);
    fd = -1;
  }
}

void tcp_proxy::accept_one() {
  int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0)
    return;
  auto target = target_.load();
  if (clock::now() < refuse_until_ || target == 0) {
    reset_close(client);
    ++stats_.refused;
    return;
  }
  int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = loopback(target);
  if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (server >= 0)
      ::close(server);
    reset_close(client); // nothing listens there: the peer sees it fail
    ++stats_.refused;
    return;
  }
  int one = 1;
  for (int fd : {client, server}) {
    set_nonblocking(fd);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  auto l = std::make_unique<link>();
  l->fd[0] = client;
  l->fd[1] = server;
  links_.push_back(std::move(l));
  ++stats_.accepted;
}

bool tcp_proxy::read_side(link& l, int k) {
  char buf[65536];
  auto n = ::read(l.fd[k], buf, sizeof(buf));
  if (n < 0)
    return errno == EAGAIN || errno == EINTR;
  if (n == 0) {
    l.eof[k] = true;
    return true;
  }
  auto delay = std::chrono::milliseconds{delay_ms_.load()};
  if (delay.count() > 0)
    ++stats_.held;
  l.to[1 - k].push_back(chunk{clock::now() + delay, std::string(buf, static_cast<size_t>(n))});
  return true;
}

bool tcp_proxy::write_side(link& l, int k) {
  auto now = clock::now();
  auto& q = l.to[k];
  while (!q.empty() && q.front().due <= now) {
    auto& c = q.front();
    auto n = ::send(l.fd[k], c.bytes.data() + c.offset, c.bytes.size() - c.offset, MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN || errno == EINTR;
    stats_.bytes += static_cast<size_t>(n);
    c.offset += static_cast<size_t>(n);
    if (c.offset < c.bytes.size())
      return true; // the socket is full; poll says when to go on
    q.pop_front();
  }
  // The other side said goodbye and everything it sent is written: pass
  // the goodbye on.
  if (q.empty() && l.eof[1 - k] && !l.shut[k]) {
    ::shutdown(l.fd[k], SHUT_WR);
    l.shut[k] = true;
  }
  return true;
}

void tcp_proxy::run() {
  std::vector<pollfd> fds;
  while (!stop_.load()) {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      tasks.swap(tasks_);
    }
    for (auto& t : tasks)
      t();
    // Links done both ways are closed.
    for (auto i = links_.begin(); i != links_.end();) {
      auto& l = **i;
      if (l.shut[0] && l.shut[1]) {
        close_link(l, false);
        i = links_.erase(i);
      } else {
        ++i;
      }
    }
    auto now = clock::now();
    int timeout = 100;
    fds.clear();
    fds.push_back({listen_fd_, POLLIN, 0});
    fds.push_back({wake_fd_[0], POLLIN, 0});
    for (auto& l : links_) {
      for (int k = 0; k < 2; ++k) {
        short ev = l->eof[k] ? 0 : POLLIN;
        if (!l->to[k].empty()) {
          auto due = l->to[k].front().due;
          if (due <= now)
            ev |= POLLOUT;
          else
            timeout = std::min<int>(
              timeout,
              static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(due - now).count()));
        }
        // A side with nothing to read or write is left out (a fully shut
        // socket would wake poll at once, again and again).
        fds.push_back({ev == 0 ? -1 : l->fd[k], ev, 0});
      }
    }
    ::poll(fds.data(), fds.size(), timeout);
    if (fds[1].revents & POLLIN) {
      char drain[64];
      while (::read(wake_fd_[0], drain, sizeof(drain)) > 0) {
      }
    }
    if (fds[0].revents & POLLIN)
      accept_one();
    // The links polled are the first ones of `links_` (accept_one appends).
    size_t polled = (fds.size() - 2) / 2;
    for (size_t i = 0; i < polled && i < links_.size();) {
      auto& l = *links_[i];
      bool ok = true;
      for (int k = 0; k < 2 && ok; ++k) {
        auto re = fds[2 + 2 * i + static_cast<size_t>(k)].revents;
        if (!l.eof[k] && (re & (POLLIN | POLLHUP | POLLERR)))
          ok = read_side(l, k);
      }
      for (int k = 0; k < 2 && ok; ++k)
        ok = write_side(l, k);
      if (!ok) {
        close_link(l, true); // one side broke: the other sees a reset too
        links_.erase(links_.begin() + static_cast<std::ptrdiff_t>(i));
        fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(2 + 2 * i),
                  fds.begin() + static_cast<std::ptrdiff_t>(4 + 2 * i));
        --polled;
      } else {
        ++i;
      }
    }
  }
}

} // namespace manta_test
