#include "manta/detail/object_transfer.hpp"

#include "manta/detail/cluster_token.hpp"
#include "manta/detail/codec.hpp"
#include "manta/detail/memory_budget.hpp"
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
#include <deque>
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

std::atomic<uint64_t> g_served{0};

} // namespace

uint64_t bytes_served() noexcept {
  return g_served.load(std::memory_order_relaxed);
}

// -- copy_progress --------------------------------------------------------------

copy_progress::copy_progress(uint64_t size)
  : have_((size + transfer_chunk - 1) / transfer_chunk, false) {
  // nop
}

void copy_progress::arrived(uint64_t index) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (index < have_.size())
      have_[index] = true;
  }
  cv_.notify_all();
}

void copy_progress::fail() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    failed_ = true;
  }
  cv_.notify_all();
}

bool copy_progress::wait(uint64_t offset, uint64_t length, std::chrono::milliseconds limit) {
  if (length == 0)
    return true;
  auto first = offset / transfer_chunk;
  auto last = (offset + length - 1) / transfer_chunk;
  std::unique_lock<std::mutex> guard{mtx_};
  return cv_.wait_for(guard, limit, [&] {
    if (failed_)
      return true;
    for (auto k = first; k <= last && k < have_.size(); ++k)
      if (!have_[k])
        return false;
    return true;
  }) && !failed_;
}

// -- held_objects ---------------------------------------------------------------

held_objects& held_objects::instance() {
  static held_objects store;
  return store;
}

void held_objects::forget(entry& e) {
  if (!e.cached)
    return;
  cached_ -= e.bytes->size();
  object_table::instance().unaccount(e.bytes->size());
  e.cached = false;
}

void held_objects::put(uint64_t id, std::shared_ptr<const std::vector<char>> bytes) {
  std::shared_ptr<const std::vector<char>> gone; // freed outside the lock
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = map_[id];
  forget(e);
  if (e.progress)
    e.progress->fail();
  gone = std::move(e.bytes);
  e = entry{std::move(bytes), nullptr, false, next_seq_++, {}};
}

std::shared_ptr<const std::vector<char>> held_objects::find(uint64_t id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = map_.find(id);
  return i == map_.end() || i->second.progress ? nullptr : i->second.bytes;
}

void held_objects::erase(uint64_t id) {
  std::shared_ptr<const std::vector<char>> gone; // freed outside the lock
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = map_.find(id); i != map_.end()) {
    forget(i->second);
    if (i->second.progress)
      i->second.progress->fail();
    gone = std::move(i->second.bytes);
    map_.erase(i);
  }
}

std::optional<held_bytes> held_objects::view(uint64_t id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = map_.find(id);
  if (i == map_.end())
    return std::nullopt;
  auto& bytes = i->second.bytes;
  return held_bytes{bytes, bytes->data(), bytes->size(), i->second.progress};
}

std::shared_ptr<std::vector<char>> held_objects::start_copy(uint64_t id, uint64_t size,
                                                           std::function<void()> on_drop,
                                                           std::shared_ptr<copy_progress>& progress) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (map_.count(id) != 0)
      return nullptr;
  }
  // Room in the same budget as the store's values: older copies go first,
  // then spillable values are spilled; without room the read is not kept.
  auto& budget = memory_budget::instance();
  if (size > budget.limit()
      || (object_table::instance().bytes_used() + size > budget.limit()
          && !budget.make_room(size)))
    return nullptr;
  auto buffer = std::make_shared<std::vector<char>>();
  if (size >= huge_copy_bytes) {
    buffer->reserve(size);
    populate_pages(buffer->data(), size); // fresh memory (store_copy.hpp)
  }
  buffer->resize(size);
  std::lock_guard<std::mutex> guard{mtx_};
  if (map_.count(id) != 0)
    return nullptr;
  progress = std::make_shared<copy_progress>(size);
  map_[id] = entry{buffer, progress, true, next_seq_++, std::move(on_drop)};
  cached_ += size;
  object_table::instance().account(size);
  return buffer;
}

void held_objects::finish_copy(uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = map_.find(id); i != map_.end())
    i->second.progress = nullptr;
}

void held_objects::abort_copy(uint64_t id) {
  std::shared_ptr<const std::vector<char>> gone;
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = map_.find(id);
  if (i == map_.end() || !i->second.cached)
    return;
  forget(i->second);
  if (i->second.progress)
    i->second.progress->fail();
  gone = std::move(i->second.bytes);
  map_.erase(i);
}

size_t held_objects::evict(size_t need) {
  std::vector<std::function<void()>> dropped;
  std::vector<std::shared_ptr<const std::vector<char>>> gone;
  size_t freed = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<std::pair<uint64_t, uint64_t>> copies; // (seq, id)
    for (auto& [id, e] : map_)
      if (e.cached && !e.progress)
        copies.emplace_back(e.seq, id);
    std::sort(copies.begin(), copies.end());
    for (auto& [seq, id] : copies) {
      if (freed >= need)
        break;
      auto i = map_.find(id);
      freed += i->second.bytes->size();
      forget(i->second);
      gone.push_back(std::move(i->second.bytes));
      if (i->second.on_drop)
        dropped.push_back(std::move(i->second.on_drop));
      map_.erase(i);
    }
  }
  for (auto& f : dropped)
    f();
  return freed;
}

size_t held_objects::cached_bytes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return cached_;
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
  return held_bytes{std::move(e), data, size, nullptr};
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

/// A holder that has no chunk of the object yet is asked again this many
/// times, this long apart (1 s in all), before it counts as failed: the
/// owner names readers as holders when it sends them their task, which
/// may not have started reading yet.
constexpr int not_here_retries = 20;
constexpr auto not_here_pause = std::chrono::milliseconds{50};

/// One read of an object from several holders: the chunks not yet read,
/// shared by every connection, and what went wrong where.
struct fetch_plan {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<uint64_t> todo;
  uint64_t left = 0; ///< chunks not landed yet
  std::vector<std::string> errors; ///< per source; non-empty: dropped
  size_t failures = 0; ///< sources dropped
  size_t finished = 0; ///< connections ended

  /// The next chunk for a connection to `src`; waits (if `wait`) while
  /// others may still give chunks back. False: nothing more for it.
  bool take(size_t src, bool wait, uint64_t& k) {
    std::unique_lock<std::mutex> guard{mtx};
    if (wait)
      cv.wait(guard, [&] { return !todo.empty() || left == 0 || !errors[src].empty(); });
    if (todo.empty() || !errors[src].empty())
      return false;
    k = todo.front();
    todo.pop_front();
    return true;
  }

  void landed() {
    std::lock_guard<std::mutex> guard{mtx};
    if (--left == 0)
      cv.notify_all();
  }

  /// Source `src` failed: its chunks in flight go back to the others.
  void failed(size_t src, std::string why, const std::deque<uint64_t>& pending) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (errors[src].empty()) {
        errors[src] = std::move(why);
        ++failures;
      }
      for (auto k : pending)
        todo.push_front(k);
    }
    cv.notify_all();
  }

  /// Chunks a connection asked for too early go back to everyone.
  void give_back(const std::deque<uint64_t>& chunks) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      for (auto k : chunks)
        todo.push_front(k);
    }
    cv.notify_all();
  }

  void ended() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      ++finished;
    }
    cv.notify_all();
  }
};

void send_request(tcp::socket& s, const std::string& token, uint64_t id, uint64_t offset,
                  uint64_t length) {
  request r{magic, static_cast<uint32_t>(token.size()), id, offset, length};
  std::array<asio::const_buffer, 2> bufs{asio::buffer(&r, sizeof(r)), asio::buffer(token)};
  asio::write(s, bufs);
}

/// One connection to source `src`: keeps two chunk requests in flight and
/// reads the answers into `out` until no chunk is left for it.
void pump(fetch_plan& plan, size_t src, const object_source& from, const std::string& token,
          uint64_t id, uint64_t size, char* out, copy_progress* arrived) {
  std::deque<uint64_t> pending; // requested, answers not read yet
  std::deque<uint64_t> back;    // "not here yet": given back, asked again later
  bool served = false;
  int waits = 0;
  auto range = [size](uint64_t k) {
    auto offset = k * transfer_chunk;
    return std::pair{offset, std::min(transfer_chunk, size - offset)};
  };
  std::string why;
  try {
    asio::io_context io;
    tcp::socket s{io};
    s.connect(tcp::endpoint{asio::ip::make_address(from.host), from.port});
    set_timeouts(s, transfer_stall_timeout);
    for (;;) {
      uint64_t k = 0;
      while (back.empty() && pending.size() < 2 && plan.take(src, pending.empty(), k)) {
        pending.push_back(k);
        auto [offset, length] = range(k);
        send_request(s, token, id, offset, length);
      }
      if (pending.empty()) {
        if (back.empty())
          return;
        plan.give_back(back);
        back.clear();
        if (!served) {
          ++waits;
          std::this_thread::sleep_for(not_here_pause);
        }
        continue;
      }
      auto [offset, length] = range(pending.front());
      answer a{};
      asio::read(s, asio::buffer(&a, sizeof(a)));
      std::string message(std::min<uint32_t>(a.message_len, max_token), '\0');
      asio::read(s, asio::buffer(message));
      if (a.status == not_here && !served && waits < not_here_retries) {
        // A holder named as one about to read the object may not have
        // started yet: the chunk goes back and it is asked again soon.
        back.push_back(pending.front());
        pending.pop_front();
        continue;
      }
      if (a.status != ok) {
        why = (a.status == not_here ? "" : "refused: ") + message;
        break;
      }
      if (a.length != length) {
        why = "the node has " + std::to_string(offset + a.length) + " bytes, expected "
              + std::to_string(offset + length);
        break;
      }
      asio::read(s, asio::buffer(out + offset, length));
      if (arrived != nullptr)
        arrived->arrived(pending.front());
      pending.pop_front();
      served = true;
      plan.landed();
    }
  } catch (const std::exception& e) {
    why = std::string{"object transfer from "} + from.host + ":" + std::to_string(from.port)
          + " failed: " + e.what();
  }
  pending.insert(pending.end(), back.begin(), back.end());
  plan.failed(src, std::move(why), pending);
}

} // namespace

std::string fetch_object(const std::vector<object_source>& sources, const std::string& token,
                         uint64_t id, uint64_t size, std::vector<char>& out, int streams,
                         copy_progress* arrived) {
  if (out.size() != size) {
    if (size >= huge_copy_bytes && out.capacity() < size) {
      std::vector<char>{}.swap(out);
      out.reserve(size);
      populate_pages(out.data(), size); // fresh memory (store_copy.hpp)
    }
    out.resize(size);
  }
  if (size == 0)
    return {};
  if (sources.empty())
    return "no node holds object " + std::to_string(id);
  fetch_plan plan;
  auto chunks = (size + transfer_chunk - 1) / transfer_chunk;
  for (uint64_t k = 0; k < chunks; ++k)
    plan.todo.push_back(k);
  plan.left = chunks;
  plan.errors.resize(sources.size());
  // One connection per holder when there are several; with one, up to
  // `streams`, each with at least 4 chunks (16 MiB) to read: below that a
  // second connection costs more than it brings.
  auto active = std::min(sources.size(), transfer_sources);
  uint64_t per_source = 1;
  if (active == 1)
    per_source = std::max<uint64_t>(
      1, std::min<uint64_t>(static_cast<uint64_t>(std::max(1, streams)), chunks / 4));
  std::vector<std::thread> threads;
  auto start = [&](size_t src) {
    for (uint64_t c = 0; c < per_source; ++c)
      threads.emplace_back([&, src] {
        pump(plan, src, sources[src], token, id, size, out.data(), arrived);
        plan.ended();
      });
  };
  for (size_t src = 0; src < active; ++src)
    start(src);
  // Each holder that fails is replaced by the next one standing by.
  size_t tried = active;
  {
    std::unique_lock<std::mutex> guard{plan.mtx};
    size_t replaced = 0;
    for (;;) {
      plan.cv.wait(guard, [&] {
        return plan.left == 0 || plan.failures > replaced || plan.finished == threads.size();
      });
      if (plan.left == 0)
        break;
      if (plan.failures > replaced) {
        ++replaced;
        if (tried < sources.size())
          start(tried++);
        continue;
      }
      break; // every connection ended, nothing stands by
    }
  }
  for (auto& t : threads)
    t.join();
  if (plan.left == 0)
    return {};
  if (tried == 1)
    return plan.errors[0];
  std::string why = "every holder failed:";
  for (size_t src = 0; src < tried; ++src)
    why += " " + sources[src].host + ":" + std::to_string(sources[src].port) + ": "
           + (plan.errors[src].empty() ? "?" : plan.errors[src]) + ";";
  why.pop_back();
  return why;
}

std::string fetch_object(const std::string& host, uint16_t port, const std::string& token,
                         uint64_t id, uint64_t size, std::vector<char>& out, int streams) {
  return fetch_object({object_source{host, port}}, token, id, size, out, streams);
}

} // namespace manta::detail
