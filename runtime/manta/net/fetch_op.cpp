#include "manta/net/fetch_op.hpp"

#include "manta/net/fetch_connection.hpp"
#include "manta/net/object_transfer.hpp"
#include "manta/store/store_copy.hpp"

#include <algorithm>
#include <system_error>

namespace manta::detail {

namespace asio = boost::asio;

namespace {

/// Mapping threads (`fetch_op::map_ahead`) at most at once in the process;
/// a read beyond them maps its pages chunk by chunk in its connections.
constexpr int max_mappers = 4;
std::atomic<int> g_mappers{0};
std::atomic<uint64_t> g_mappers_started{0};

} // namespace

uint64_t mapping_threads_started() noexcept {
  return g_mappers_started.load(std::memory_order_relaxed);
}

fetch_op::fetch_op(asio::io_context& io, connection_pool* pool, std::vector<object_source> sources,
                   std::string token, uint64_t id, uint64_t size, char* out,
                   std::vector<char>* grown, int streams, std::shared_ptr<copy_progress> arrived,
                   std::shared_ptr<data_path_tls> tls, fetch_done done)
  : io(io), pool(pool), sources(std::move(sources)), token(std::move(token)), id(id), size(size),
    out(out), arrived(std::move(arrived)), tls(std::move(tls)), grown_(grown),
    done_(std::move(done)) {
  auto chunks = (size + transfer_chunk - 1) / transfer_chunk;
  for (uint64_t k = 0; k < chunks; ++k)
    todo_.push_back(k);
  left_ = chunks;
  errors_.resize(this->sources.size());
  // One connection per holder when there are several; with one, up to
  // `streams`, each with at least 4 chunks (16 MiB) to read: below that a
  // second connection costs more than it brings.
  if (std::min(this->sources.size(), transfer_sources) == 1)
    per_source_ = std::max<uint64_t>(
      1, std::min<uint64_t>(static_cast<uint64_t>(std::max(1, streams)), chunks / 4));
}

fetch_op::~fetch_op() {
  stop_mapping();
}

void fetch_op::start() {
  if (grown_ != nullptr && g_mappers.fetch_add(1) < max_mappers) {
    try {
      mapper_ = std::thread{[this] { map_ahead(); }};
      g_mappers_started.fetch_add(1, std::memory_order_relaxed);
    } catch (const std::system_error&) {
      // No thread: each connection maps its own chunk (`ensure`).
    }
  }
  if (grown_ != nullptr && !mapper_.joinable())
    --g_mappers;
  std::vector<std::shared_ptr<fetch_connection>> opened;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (size_t src = 0; src < std::min(sources.size(), transfer_sources); ++src)
      open(src);
    opened.swap(starting_);
  }
  for (auto& c : opened)
    c->start();
}

void fetch_op::open(size_t src) {
  tried_ = src + 1;
  for (size_t c = 0; c < per_source_; ++c) {
    auto idle = pool != nullptr ? pool->take(key_of(src)) : nullptr;
    starting_.push_back(
      std::make_shared<fetch_connection>(shared_from_this(), src, std::move(idle)));
    ++connections_;
  }
}

holder_key fetch_op::key_of(size_t src) const {
  return {sources[src].host, sources[src].port, tls.get()};
}

fetch_op::take_result fetch_op::take(size_t src, const std::shared_ptr<fetch_connection>& asker,
                                     uint64_t& k) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!errors_[src].empty())
    return take_result::none;
  if (!todo_.empty()) {
    k = todo_.front();
    todo_.pop_front();
    return take_result::chunk;
  }
  if (left_ == 0 || !asker)
    return take_result::none;
  waiting_.push_back(asker);
  return take_result::wait;
}

void fetch_op::landed(uint64_t) {
  std::vector<std::shared_ptr<fetch_connection>> waiting;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (--left_ == 0)
      waiting.swap(waiting_);
  }
  wake(std::move(waiting));
}

void fetch_op::failed(size_t src, std::string why, const std::deque<uint64_t>& chunks) {
  std::vector<std::shared_ptr<fetch_connection>> waiting;
  std::vector<std::shared_ptr<fetch_connection>> opened;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (errors_[src].empty()) {
      errors_[src] = std::move(why);
      // Each holder that fails is replaced by the next one standing by.
      if (tried_ < sources.size())
        open(tried_);
    }
    for (auto k : chunks)
      todo_.push_front(k);
    waiting.swap(waiting_);
    opened.swap(starting_);
  }
  wake(std::move(waiting));
  for (auto& c : opened)
    c->start();
}

void fetch_op::give_back(const std::deque<uint64_t>& chunks) {
  std::vector<std::shared_ptr<fetch_connection>> waiting;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto k : chunks)
      todo_.push_front(k);
    waiting.swap(waiting_);
  }
  wake(std::move(waiting));
}

void fetch_op::retry(size_t src, const std::deque<uint64_t>& chunks) {
  std::vector<std::shared_ptr<fetch_connection>> waiting;
  std::shared_ptr<fetch_connection> fresh;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto k : chunks)
      todo_.push_front(k);
    if (errors_[src].empty()) { // else the source is dropped already
      fresh = std::make_shared<fetch_connection>(shared_from_this(), src, nullptr);
      ++connections_;
    }
    waiting.swap(waiting_);
  }
  wake(std::move(waiting));
  if (fresh)
    fresh->start();
}

void fetch_op::wake(std::vector<std::shared_ptr<fetch_connection>> waiting) {
  for (auto& c : waiting)
    c->resume();
}

void fetch_op::map_ahead() noexcept {
  // A chunk at a time, so that a reader that caught up waits little.
  for (uint64_t at = 0; at < size && !stop_mapping_.load(std::memory_order_relaxed);) {
    auto n = std::min(transfer_chunk, size - at);
    populate_pages(out + at, n); // fresh memory (store_copy.hpp)
    at += n;
    mapped_.store(at, std::memory_order_release);
  }
}

void fetch_op::stop_mapping() noexcept {
  stop_mapping_.store(true, std::memory_order_relaxed);
  if (mapper_.joinable()) {
    mapper_.join();
    --g_mappers;
  }
}

void fetch_op::ensure(uint64_t end) {
  if (grown_ == nullptr)
    return;
  std::lock_guard<std::mutex> guard{grow_mtx_};
  auto now = grown_->size();
  if (now >= end)
    return;
  // What the mapping thread has not reached yet is mapped here.
  auto from = std::max<uint64_t>(now, mapped_.load(std::memory_order_acquire));
  if (from < end)
    populate_pages(grown_->data() + from, end - from);
  grown_->resize(end); // within the capacity reserved: zeroes [now, end) only
}

void fetch_op::ended() {
  std::string result;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (--connections_ > 0 || finished_)
      return;
    finished_ = true;
    waiting_.clear();
    result = outcome();
  }
  stop_mapping(); // it touches `out` no more
  ensure(size); // no connection is left: the whole object, sized
  auto done = std::move(done_);
  done(std::move(result));
}

std::string fetch_op::outcome() const {
  if (left_ == 0)
    return {};
  if (tried_ == 1)
    return errors_[0].empty() ? "the read of object " + std::to_string(id) + " ended early"
                              : errors_[0];
  std::string why = "every holder failed:";
  for (size_t src = 0; src < tried_; ++src)
    why += " " + sources[src].host + ":" + std::to_string(sources[src].port) + ": "
           + (errors_[src].empty() ? "?" : errors_[src]) + ";";
  why.pop_back();
  return why;
}

} // namespace manta::detail
