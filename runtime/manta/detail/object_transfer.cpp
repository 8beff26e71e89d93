#include "manta/detail/object_transfer.hpp"

#include "manta/detail/cluster_token.hpp"
#include "manta/detail/codec.hpp"
#include "manta/detail/object_table.hpp"
#include "manta/detail/store_copy.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <list>
#include <thread>

#include <sys/socket.h>
#include <sys/time.h>

namespace manta::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr uint32_t magic = 0x3158544d; // "MTX1" little-endian
constexpr uint32_t max_token = 4096;

enum status : uint32_t { ok = 0, not_here = 1, refused_status = 2 };

struct request {
  uint32_t magic;
  uint32_t token_len;
  uint64_t id;
  uint64_t offset;
  uint64_t length;
};

struct answer {
  uint32_t status;
  uint32_t message_len;
  uint64_t length;
};

static_assert(sizeof(request) == 32 && sizeof(answer) == 16);

/// Makes blocking reads and writes on `s` fail after `t` without progress.
void set_timeouts(tcp::socket& s, std::chrono::seconds t) {
  timeval tv{static_cast<time_t>(t.count()), 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void send_answer(tcp::socket& s, status st, const std::string& message, const char* data,
                 uint64_t length) {
  answer a{st, static_cast<uint32_t>(message.size()), length};
  std::array<asio::const_buffer, 3> bufs{asio::buffer(&a, sizeof(a)), asio::buffer(message),
                                         asio::buffer(data, length)};
  asio::write(s, bufs);
}

} // namespace

// -- held_objects ---------------------------------------------------------------

held_objects& held_objects::instance() {
  static held_objects store;
  return store;
}

void held_objects::put(uint64_t id, std::shared_ptr<const std::vector<char>> bytes) {
  std::lock_guard<std::mutex> guard{mtx_};
  map_[id] = std::move(bytes);
}

std::shared_ptr<const std::vector<char>> held_objects::find(uint64_t id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = map_.find(id);
  return i == map_.end() ? nullptr : i->second;
}

void held_objects::erase(uint64_t id) {
  std::shared_ptr<const std::vector<char>> gone; // freed outside the lock
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = map_.find(id); i != map_.end()) {
    gone = std::move(i->second);
    map_.erase(i);
  }
}

std::optional<held_bytes> held_objects::view(uint64_t id) const {
  auto bytes = find(id);
  if (!bytes)
    return std::nullopt;
  return held_bytes{bytes, bytes->data(), bytes->size()};
}

std::optional<held_bytes> local_object_bytes(uint64_t id) {
  if (auto held = held_objects::instance().view(id))
    return held;
  auto slot = object_table::instance().find(object_id{id});
  if (!slot || !slot->done() || slot->failed() || slot->codec() == nullptr
      || (slot->remote() && !slot->resident()))
    return std::nullopt;
  struct encoded {
    std::shared_ptr<const void> value; // pinned in memory while it is sent
    encoded_bytes bytes;
  };
  auto e = std::make_shared<encoded>();
  try {
    e->value = slot->shared_value();
  } catch (const std::exception&) {
    return std::nullopt; // a spilled value that cannot be read back
  }
  if (slot->codec()->encode(e->value.get(), e->bytes))
    return std::nullopt;
  auto* data = e->bytes.data;
  auto size = e->bytes.size;
  return held_bytes{std::move(e), data, size};
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
        request r{};
        boost::system::error_code ec;
        asio::read(s, asio::buffer(&r, sizeof(r)), ec);
        if (ec)
          break;
        if (r.magic != magic || r.token_len > max_token) {
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
        send_answer(s, ok, {}, held->data + from, n);
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
  // Wakes the blocked accept() and every blocked read.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->acceptor.close(ignored);
  if (impl_->acceptor_thread.joinable())
    impl_->acceptor_thread.join();
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

// -- fetching ---------------------------------------------------------------------

namespace {

std::string fetch_range(const std::string& host, uint16_t port, const std::string& token,
                        uint64_t id, uint64_t offset, uint64_t length, char* out) {
  try {
    asio::io_context io;
    tcp::socket s{io};
    s.connect(tcp::endpoint{asio::ip::make_address(host), port});
    set_timeouts(s, transfer_stall_timeout);
    request r{magic, static_cast<uint32_t>(token.size()), id, offset, length};
    std::array<asio::const_buffer, 2> bufs{asio::buffer(&r, sizeof(r)), asio::buffer(token)};
    asio::write(s, bufs);
    answer a{};
    asio::read(s, asio::buffer(&a, sizeof(a)));
    std::string message(std::min<uint32_t>(a.message_len, max_token), '\0');
    asio::read(s, asio::buffer(message));
    if (a.status != ok)
      return (a.status == not_here ? "" : "refused: ") + message;
    if (a.length != length)
      return "the node has " + std::to_string(offset + a.length) + " bytes, expected "
             + std::to_string(offset + length);
    asio::read(s, asio::buffer(out, length));
    return {};
  } catch (const std::exception& e) {
    return std::string{"object transfer from "} + host + ":" + std::to_string(port)
           + " failed: " + e.what();
  }
}

} // namespace

std::string fetch_object(const std::string& host, uint16_t port, const std::string& token,
                         uint64_t id, uint64_t size, std::vector<char>& out, int streams) {
  if (size >= huge_copy_bytes && out.capacity() < size) {
    std::vector<char>{}.swap(out);
    out.reserve(size);
    populate_pages(out.data(), size); // fresh memory (store_copy.hpp)
  }
  out.resize(size);
  // Ranges of at least 16 MiB: below that a second connection costs more
  // than it brings.
  auto n = static_cast<uint64_t>(std::max(1, streams));
  n = std::max<uint64_t>(1, std::min<uint64_t>(n, size / (16u << 20)));
  if (n == 1)
    return fetch_range(host, port, token, id, 0, size, out.data());
  std::vector<std::string> errors(n);
  std::vector<std::thread> threads;
  auto step = (size + n - 1) / n;
  for (uint64_t k = 0; k < n; ++k) {
    auto from = k * step;
    auto len = std::min(step, size - from);
    threads.emplace_back([&, k, from, len] {
      errors[k] = fetch_range(host, port, token, id, from, len, out.data() + from);
    });
  }
  for (auto& t : threads)
    t.join();
  for (auto& e : errors)
    if (!e.empty())
      return e;
  return {};
}

} // namespace manta::detail
