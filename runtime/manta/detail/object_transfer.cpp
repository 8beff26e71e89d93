#include "manta/detail/object_transfer.hpp"

#include "manta/detail/cluster_token.hpp"
#include "manta/detail/transfer_protocol.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <list>
#include <mutex>
#include <thread>

#include <sys/socket.h>

namespace manta::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace transfer_protocol;

namespace {

void send_answer(tcp::socket& s, status st, const std::string& message, const char* data,
                 uint64_t length) {
  answer a{st, static_cast<uint32_t>(message.size()), length};
  std::array<asio::const_buffer, 3> bufs{asio::buffer(&a, sizeof(a)), asio::buffer(message),
                                         asio::buffer(data, length)};
  asio::write(s, bufs);
}

std::atomic<uint64_t> g_served{0};

} // namespace

uint64_t bytes_served() noexcept {
  return g_served.load(std::memory_order_relaxed);
}
// -- transfer_server --------------------------------------------------------------

struct transfer_server::impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::string token;
  lookup_fn lookup;
  std::atomic<size_t> refused{0};
  std::atomic<bool> stopping{false};
  std::mutex mtx;
  /// One per connection; the socket closes when its entry goes (after the
  /// thread ended), so the destructor can shut down any socket still here.
  struct connection {
    std::unique_ptr<tcp::socket> socket;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<connection> connections;
  std::thread acceptor_thread;

  void accept_loop() {
    for (;;) {
      auto s = std::make_unique<tcp::socket>(io);
      boost::system::error_code ec;
      acceptor.accept(*s, ec);
      if (stopping.load())
        return;
      if (ec)
        continue;
      std::lock_guard<std::mutex> guard{mtx};
      // Reap connections that ended, so a long-lived node does not pile them up.
      for (auto i = connections.begin(); i != connections.end();) {
        if (i->done.load()) {
          i->thread.join();
          i = connections.erase(i);
        } else {
          ++i;
        }
      }
      auto& c = connections.emplace_back();
      c.socket = std::move(s);
      c.thread = std::thread{[this, &c] {
        serve(*c.socket);
        c.done.store(true);
      }};
    }
  }

  /// Answers requests on one connection until it closes or misbehaves.
  void serve(tcp::socket& s) {
    set_timeouts(s, transfer_stall_timeout);
    try {
      for (;;) {
        std::array<char, sizeof(request)> head;
        boost::system::error_code ec;
        asio::read(s, asio::buffer(head), ec);
        if (ec)
          break;
        request r{};
        if (!parse_request(head, r).empty()) {
          ++refused;
          send_answer(s, refused_status, "not a Manta object request", nullptr, 0);
          break;
        }
        std::string presented(r.token_len, '\0');
        asio::read(s, asio::buffer(presented));
        if (!tokens_equal(presented, token)) {
          if (++refused <= 10)
            std::fprintf(stderr, "manta: the object transfer server refused a request "
                                 "without the cluster token\n");
          send_answer(s, refused_status, "wrong cluster token", nullptr, 0);
          break;
        }
        auto held = lookup(r.id);
        if (!held) {
          send_answer(s, not_here, "the object is not on this node", nullptr, 0);
          continue;
        }
        auto from = std::min<uint64_t>(r.offset, held->size);
        auto n = std::min<uint64_t>(r.length, held->size - from);
        if (held->progress
            && !held->progress->wait(from, n, std::chrono::milliseconds{partial_copy_wait})) {
          send_answer(s, not_here, "the copy on this node is not complete", nullptr, 0);
          continue;
        }
        send_answer(s, ok, {}, held->data + from, n);
        g_served.fetch_add(n, std::memory_order_relaxed);
      }
    } catch (const std::exception&) {
      // the peer went away or stalled: drop the connection
    }
    ::shutdown(s.native_handle(), SHUT_RDWR);
  }
};

transfer_server::transfer_server(const std::string& host, std::string token, lookup_fn lookup)
  : impl_(std::make_unique<impl>()) {
  impl_->token = std::move(token);
  impl_->lookup = std::move(lookup);
  tcp::endpoint ep{asio::ip::make_address(host), 0};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->acceptor_thread = std::thread{[p = impl_.get()] { p->accept_loop(); }};
}

transfer_server::~transfer_server() {
  impl_->stopping.store(true);
  boost::system::error_code ignored;
  // Wakes the blocked accept() (on Linux, accept() on a listening socket
  // that was shut down fails at once, so a loop between two accepts stops
  // too). The acceptor is closed only after its thread ended: asio's
  // acceptor is not safe for a close() concurrent with accept() (TSan
  // reported that race in object_transfer_test).
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  if (impl_->acceptor_thread.joinable())
    impl_->acceptor_thread.join();
  impl_->acceptor.close(ignored);
  std::lock_guard<std::mutex> guard{impl_->mtx};
  for (auto& c : impl_->connections)
    ::shutdown(c.socket->native_handle(), SHUT_RDWR);
  for (auto& c : impl_->connections)
    c.thread.join();
}

uint16_t transfer_server::port() const noexcept {
  return impl_->acceptor.local_endpoint().port();
}

size_t transfer_server::refused() const noexcept {
  return impl_->refused.load();
}
} // namespace manta::detail
