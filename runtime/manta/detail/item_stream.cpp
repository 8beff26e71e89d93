#include "manta/detail/item_stream.hpp"

#include "manta/detail/object_table.hpp"
#include "manta/detail/remote_object.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/errors.hpp"

#include <deque>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace manta::detail {

namespace {

/// An item from another node: its bytes, or the record of a large one that
/// stayed there (dropping the record frees it on that node).
struct far_item {
  uint64_t at = 0;
  std::vector<char> bytes;
  remote_ptr stored;
};

/// The generator streams of this process by their producer's task id, for
/// items other nodes send.
struct stream_index {
  std::mutex mtx;
  std::unordered_map<uint64_t, std::weak_ptr<item_stream>> streams;
  /// Items that came before their stream was enrolled (it is enrolled right
  /// after submission, so this is rare and short).
  std::unordered_map<uint64_t, std::vector<far_item>> early;
  /// Past this many task ids in `early`, it is cleared: what a gone stream
  /// left there must not pile up.
  static constexpr size_t max_early = 1024;
  /// Task ids of the streams gone lately (dropped before their producer
  /// heard of the cancel): their late items are dropped at once, which for
  /// a large one frees it on its node.
  std::unordered_set<uint64_t> gone;
  std::deque<uint64_t> gone_order;
  static constexpr size_t max_gone = 1024;
};

stream_index& index() {
  static auto* x = new stream_index; // never destroyed: a late item finds it
  return *x;
}

void push_at(item_stream& s, far_item item);

} // namespace

item_stream::~item_stream() {
  if (enrolled_) {
    auto& x = index();
    std::vector<far_item> left; // dropped outside the lock (frees large ones)
    std::lock_guard<std::mutex> guard{x.mtx};
    auto id = done_->id().value();
    x.streams.erase(id);
    if (auto i = x.early.find(id); i != x.early.end()) {
      left = std::move(i->second);
      x.early.erase(i);
    }
    // Only a producer still running may send items after this (it has
    // not heard of the cancel yet): a finished one sent all before its end.
    if (!done_->done() && x.gone.insert(id).second) {
      x.gone_order.push_back(id);
      if (x.gone_order.size() > stream_index::max_gone) {
        x.gone.erase(x.gone_order.front());
        x.gone_order.pop_front();
      }
    }
  }
  // Under the slot's lock: a seal telling end_ is over before it dies.
  if (done_)
    done_->remove_waiter(&end_);
}

void item_stream::forget_far_items() noexcept {
  auto& x = index();
  std::unordered_map<uint64_t, std::vector<far_item>> early; // freed outside the lock
  std::lock_guard<std::mutex> guard{x.mtx};
  early.swap(x.early);
  x.gone.clear();
  x.gone_order.clear();
}

void item_stream::watch(slot_ptr done) {
  done_ = std::move(done);
  end_.stream = this;
  if (!done_->add_waiter(&end_))
    on_done(); // over already (failed at submission: an infeasible task)
}

void item_stream::begin_run() noexcept {
  std::lock_guard<std::mutex> guard{wait_.mutex()};
  run_index_ = 0;
}

bool item_stream::admit_next() {
  std::lock_guard<std::mutex> guard{wait_.mutex()};
  if (over_ || abandoned_)
    throw task_cancelled_error("manta: the generator's stream was cancelled or dropped by "
                               "its caller; the producer stops at this yield");
  return run_index_++ >= delivered_;
}

void item_stream::push(slot_ptr item) {
  wait_.notify([&] {
    items_.push_back(std::move(item));
    ++delivered_;
  });
}

void item_stream::on_done() noexcept {
  wait_.notify([&] { over_ = true; });
}

void item_stream::abandon() noexcept {
  std::lock_guard<std::mutex> guard{wait_.mutex()};
  abandoned_ = true;
}

bool item_stream::finished() const {
  std::lock_guard<std::mutex> guard{wait_.mutex()};
  return over_ && items_.empty() && (error_given_ || !done_->failed());
}

slot_ptr item_stream::next(clock::time_point deadline) {
  slot_ptr out;
  wait_.wait(deadline, [&](std::unique_lock<std::mutex>& lock) {
    if (!items_.empty()) {
      out = std::move(items_.front());
      items_.pop_front();
      return true;
    }
    if (!over_)
      return false;
    if (!done_->failed() || error_given_)
      return true; // the end: null
    // The producer's error, as the item at the position where it stopped.
    error_given_ = true;
    lock.unlock();
    auto& rt = runtime::require("object_ref_generator::next");
    out = object_table::instance().create(rt.next_object_id());
    out->seal_error(done_->error());
    return true;
  });
  return out;
}

void item_stream::emit(std::vector<char> bytes) {
  uint64_t at;
  {
    std::lock_guard<std::mutex> guard{wait_.mutex()};
    at = run_index_ - 1; // admit_next counted it
  }
  emit_(at, std::move(bytes));
}

void item_stream::enroll(const std::shared_ptr<item_stream>& stream) {
  auto& x = index();
  auto id = stream->done_->id().value();
  std::vector<far_item> early;
  {
    std::lock_guard<std::mutex> guard{x.mtx};
    x.streams[id] = stream;
    stream->enrolled_ = true;
    if (auto i = x.early.find(id); i != x.early.end()) {
      early = std::move(i->second);
      x.early.erase(i);
    }
  }
  for (auto& item : early)
    push_at(*stream, std::move(item));
}

namespace {

/// Hands an item to the stream of `task_id`, or keeps it until that stream
/// is enrolled, or drops it if the stream is gone.
void route(uint64_t task_id, far_item item) {
  auto& x = index();
  std::shared_ptr<item_stream> stream;
  std::vector<far_item> dropped; // outside the lock (frees large ones)
  {
    std::lock_guard<std::mutex> guard{x.mtx};
    if (auto i = x.streams.find(task_id); i != x.streams.end())
      stream = i->second.lock();
    if (!stream) {
      if (x.gone.count(task_id) != 0) {
        dropped.push_back(std::move(item));
        return;
      }
      if (x.early.size() >= stream_index::max_early && x.early.count(task_id) == 0)
        for (auto& [id, items] : std::exchange(x.early, {}))
          for (auto& i : items)
            dropped.push_back(std::move(i));
      x.early[task_id].push_back(std::move(item));
      return;
    }
  }
  push_at(*stream, std::move(item));
}

} // namespace

void item_stream::deliver(uint64_t task_id, uint64_t at, std::span<const char> bytes) {
  route(task_id, far_item{at, std::vector<char>(bytes.begin(), bytes.end()), nullptr});
}

void item_stream::deliver_stored(uint64_t task_id, uint64_t at, uint16_t node, uint64_t object,
                                 uint64_t size) {
  // The record frees the bytes on `node` when it goes (remote_object's
  // destructor), whatever becomes of the item. No lineage: an item lost
  // with its node is not rebuilt (the stream's producer is not re-run).
  auto obj = std::make_shared<remote_object>(object_id{object}, node, size, wire::bytes{},
                                             resource_demand{}, 0);
  route(task_id, far_item{at, {}, std::move(obj)});
}

namespace {

void push_at(item_stream& s, far_item far) {
  slot_ptr item;
  try {
    if (far.stored) {
      if (s.item_type == nullptr || s.item_codec == nullptr)
        return; // not a stream of decodable items (no node sends it any)
      item = object_table::instance().create(far.stored->id);
      auto size = far.stored->encoded_size.load();
      item->seal_remote(*s.item_type, size, s.item_codec, std::move(far.stored));
    } else {
      if (!s.decode_item)
        return;
      item = s.decode_item(far.bytes);
    }
  } catch (...) {
    auto& rt = runtime::require("a generator's item from another node");
    item = object_table::instance().create(rt.next_object_id());
    item->seal_error(std::current_exception());
  }
  s.push_indexed(far.at, std::move(item));
}

} // namespace

void item_stream::push_indexed(uint64_t at, slot_ptr item) {
  wait_.notify([&] {
    // A retry's repeat, or a late item after the caller was handed the
    // producer's error (a cancel). The producer's result itself may come
    // first: items that arrived before the stream was enrolled (the caller
    // was descheduled between submitting and enrolling) are pushed by
    // `enroll` after the result sealed `done`, and still belong before
    // the end.
    if (at != delivered_ || error_given_)
      return;
    items_.push_back(std::move(item));
    ++delivered_;
  });
}

} // namespace manta::detail
