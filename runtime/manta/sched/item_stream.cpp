#include "manta/sched/item_stream.hpp"
#include "manta/store/object_store.hpp"

#include "actors/atoms.hpp"
#include "manta/cancel.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/store/far_objects.hpp"
#include "manta/store/lent_handles.hpp"
#include "manta/store/node_messages.hpp"
#include "manta/core/runtime.hpp"
#include "manta/sched/stream_id_memory.hpp"
#include "manta/sched/stream_index.hpp"
#include "manta/sched/stream_items.hpp"
#include "manta/errors.hpp"

#include <caf/send.hpp>

#include <algorithm>
#include <unordered_map>
#include <utility>

namespace manta::detail {

item_pins::~item_pins() {
  if (held_ != 0)
    item_read(held_);
}

void stream_index::remember_gone(uint64_t id) {
  if (!gone.insert(id).second)
    return;
  gone_order.push_back(id);
  if (gone_order.size() > stream_id_memory()) {
    gone.erase(gone_order.front());
    gone_order.pop_front();
  }
}

namespace {

/// The running runtime's index, or null with none (then nothing is enrolled
/// and an item from another node is dropped).
stream_index* index() noexcept {
  auto* rt = runtime::live();
  return rt != nullptr ? &rt->streams() : nullptr;
}

void push_at(item_stream& s, far_item item);

} // namespace

item_stream::~item_stream() {
  if (emit_)
    end_item_lending(this); // an item left open (item_unsent ends a throw's)
  // A stream that outlived its runtime finds no index, or another
  // runtime's, where its entries are not: it leaves nothing there.
  auto* x = acked_by_id_ || enrolled_ ? index() : nullptr;
  if (acked_by_id_ && x != nullptr) {
    std::lock_guard<std::mutex> guard{x->mtx};
    if (auto i = x->producers.find(emit_.task_id); i != x->producers.end() && i->second == this)
      x->producers.erase(i);
  }
  if (enrolled_ && x != nullptr) {
    std::vector<far_item> left; // dropped outside the lock (frees large ones)
    std::lock_guard<std::mutex> guard{x->mtx};
    auto id = done_->id().value();
    if (auto i = x->streams.find(id); i != x->streams.end() && i->second.at == this) {
      x->streams.erase(i);
      if (auto j = x->early.find(id); j != x->early.end()) {
        left = std::move(j->second);
        x->early.erase(j);
      }
      // A producer on another node may send items after this: one that
      // has not heard of the cancel yet, even when its result here is
      // sealed already (a cancel seals it at once). Such items are dropped
      // at once (which lets go of the refs in them on their node), not
      // kept as early ones for a stream that never comes.
      x->remember_gone(id);
    }
  }
  // Under the slot's lock: a seal telling end_ is over before it dies.
  if (done_)
    done_->remove_waiter(&end_);
}

void item_stream::forget_far_items() noexcept {
  auto* x = index();
  if (x == nullptr)
    return;
  std::unordered_map<uint64_t, std::vector<far_item>> early; // freed outside the lock
  std::lock_guard<std::mutex> guard{x->mtx};
  early.swap(x->early);
  // `gone` stays: a late item of a stream gone is still dropped at once,
  // while the links run; the index goes with the runtime.
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
  if (window_ != 0)
    wait_for_room();
  {
    std::lock_guard<std::mutex> guard{wait_.mutex()};
    if (over_ || abandoned_)
      throw task_cancelled_error("manta: the generator's stream was cancelled or dropped by "
                                 "its caller; the producer stops at this yield");
    if (run_index_++ < delivered_)
      return false;
  }
  // Encoded next for another node: the refs in it are its own container.
  if (emit_)
    begin_item_lending(this);
  return true;
}

void item_stream::push(slot_ptr item) {
  wait_.notify([&] {
    items_.push_back(std::move(item));
    ++delivered_;
  });
}

void item_stream::wait_for_room() {
  auto fits = [&](std::unique_lock<std::mutex>&) {
    std::lock_guard<std::mutex> guard{wait_.mutex()};
    if (over_ || abandoned_)
      return true; // admit_next throws
    if (emit_)     // the caller is on another node: its acks count
      return run_index_ < acked_ + window_;
    // A retry's repeat is skipped, not stored: it needs no room.
    return run_index_ < delivered_ || items_.size() < window_;
  };
  // Parked until the caller takes an item (or acks one from afar); a cancel
  // of a task unparks it, and every quarter second it looks whether its
  // call was cancelled (an actor call's cancel does not unpark it).
  for (;;) {
    if (room_.wait(clock::now() + std::chrono::milliseconds(250), fits))
      return;
    if (manta::cancelled())
      throw task_cancelled_error("manta: the generator was cancelled while it waited for its "
                                 "caller to read its items (back pressure)");
  }
}

void item_stream::on_done() noexcept {
  wait_.notify([&] { over_ = true; });
  if (window_ != 0)
    room_.notify([] {});
}

void item_stream::abandon() noexcept {
  {
    std::lock_guard<std::mutex> guard{wait_.mutex()};
    abandoned_ = true;
  }
  if (window_ != 0)
    room_.notify([] {});
}

bool item_stream::finished() const {
  std::lock_guard<std::mutex> guard{wait_.mutex()};
  return over_ && items_.empty() && (error_given_ || !done_->failed());
}

slot_ptr item_stream::next(clock::time_point deadline) {
  slot_ptr out;
  size_t ack = 0; // the count to tell a producer on another node, if any
  caf::actor ack_to;
  wait_.wait(deadline, [&](std::unique_lock<std::mutex>& lock) {
    if (!items_.empty()) {
      out = std::move(items_.front());
      items_.pop_front();
      ++taken_;
      // Acks go in steps of half the window: the producer never waits
      // for one while the caller waits for an item (what it has not heard
      // of is under half the window).
      if (window_ != 0 && producer_ && *producer_
          && taken_ - ack_sent_ >= std::max<size_t>(1, window_ / 2)) {
        ack = ack_sent_ = taken_;
        ack_to = *producer_;
      }
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
    out = rt.store().table().create(rt.next_object_id());
    out->seal_error(done_->error());
    return true;
  });
  if (ack != 0)
    send_ack(ack_to, ack);
  if (out && window_ != 0)
    room_.notify([] {}); // a producer on this node may go on
  return out;
}

void item_stream::send_ack(const caf::actor& producer, size_t taken) const {
  if (auto to = node_router())
    caf::anon_send(to, actors::item_ack_atom::value, producer, done_->id().value(),
                   uint64_t{taken});
}

void item_stream::emit_to(emitter emit) {
  emit_ = std::move(emit);
  window_ = emit_.window;
  auto* x = index();
  if (window_ == 0 || x == nullptr)
    return; // no acks come without a runtime
  std::lock_guard<std::mutex> guard{x->mtx};
  x->producers[emit_.task_id] = this;
  acked_by_id_ = true;
}

void item_stream::acknowledge(uint64_t task_id, uint64_t taken) {
  auto* x = index();
  if (x == nullptr)
    return;
  std::lock_guard<std::mutex> guard{x->mtx}; // keeps the stream alive
  auto i = x->producers.find(task_id);
  if (i == x->producers.end())
    return; // over (an ack crossing the producer's end)
  auto* s = i->second;
  s->room_.notify([&] {
    std::lock_guard<std::mutex> inner{s->wait_.mutex()};
    s->acked_ = std::max<size_t>(s->acked_, taken);
  });
}

void item_stream::emit(std::vector<char> bytes) {
  uint64_t at;
  {
    std::lock_guard<std::mutex> guard{wait_.mutex()};
    at = run_index_ - 1; // admit_next counted it
  }
  // The sender takes the item's lends as its container; a sender that
  // did not (or threw) leaves them lent outside any container.
  struct ended {
    ~ended() { end_item_lending(); }
  } end;
  emit_.send(at, std::move(bytes));
}

void item_stream::item_unsent() noexcept {
  drop_item_lending();
  std::lock_guard<std::mutex> guard{wait_.mutex()};
  if (run_index_ > 0)
    --run_index_;
}

void item_stream::enroll(const std::shared_ptr<item_stream>& stream) {
  auto* x = index();
  if (x == nullptr)
    return; // shut down: no node sends it anything
  auto id = stream->done_->id().value();
  // The items that came first are pushed before the stream is listed: one
  // that comes meanwhile waits with them, so none overtakes them (it would
  // be dropped as out of order).
  for (;;) {
    std::vector<far_item> early;
    bool lost = false;
    {
      std::lock_guard<std::mutex> guard{x->mtx};
      if (auto i = x->early.find(id); i != x->early.end()) {
        early = std::move(i->second);
        x->early.erase(i);
      } else {
        x->streams[id] = {stream, stream.get()};
        stream->enrolled_ = true;
        lost = x->gone.count(id) != 0; // only `early` puts a live stream's id there
      }
    }
    for (auto& item : early)
      push_at(*stream, std::move(item));
    if (!early.empty())
      continue;
    if (lost) {
      // Items were dropped with the early buffer: what follows them cannot
      // be handed out in order, so the caller gets this error in the first
      // one's place, then the end (later items are dropped).
      auto& rt = runtime::require("a generator's stream");
      auto item = rt.store().table().create(rt.next_object_id());
      item->seal_error(early_items_dropped());
      stream->wait_.notify([&] {
        stream->items_.push_back(std::move(item));
        stream->error_given_ = true;
      });
    }
    return;
  }
}

namespace {

/// Hands an item to the stream of `task_id`, or keeps it until that stream
/// is enrolled, or drops it if the stream is gone.
void route(uint64_t task_id, far_item item) {
  auto* x = index();
  if (x == nullptr)
    return; // no runtime: dropped (which frees a large one on its node)
  std::shared_ptr<item_stream> stream;
  std::vector<far_item> dropped; // outside the lock (frees large ones)
  {
    std::lock_guard<std::mutex> guard{x->mtx};
    if (auto i = x->streams.find(task_id); i != x->streams.end())
      stream = i->second.stream.lock();
    if (!stream) {
      if (x->gone.count(task_id) != 0) {
        dropped.push_back(std::move(item));
        return;
      }
      if (x->early.size() >= stream_id_memory() && x->early.count(task_id) == 0)
        for (auto& [id, items] : std::exchange(x->early, {})) {
          x->remember_gone(id); // its stream, if it comes, lost these
          for (auto& i : items)
            dropped.push_back(std::move(i));
        }
      x->early[task_id].push_back(std::move(item));
      return;
    }
  }
  push_at(*stream, std::move(item));
}

} // namespace

void item_stream::deliver(uint64_t task_id, uint64_t at, std::span<const char> bytes,
                          const caf::actor& from) {
  deliver_contained_item(task_id, at, bytes, 0, from);
}

void item_stream::deliver(uint64_t task_id, uint64_t at, std::span<const char> bytes) {
  deliver(task_id, at, bytes, caf::actor{});
}

void deliver_contained_item(uint64_t task_id, uint64_t at, std::span<const char> bytes,
                            uint64_t held, caf::actor from) {
  route(task_id, far_item{at, std::vector<char>(bytes.begin(), bytes.end()), nullptr,
                          std::move(from), item_pins{held}});
}

void item_read(uint64_t held) {
  if (held != 0)
    tell_home(object_id{held}.node(), held, result_read_delta);
}

void item_stream::deliver_stored(uint64_t task_id, uint64_t at, uint16_t node, uint64_t object,
                                 uint64_t size, const caf::actor& from) {
  // The record frees the bytes on `node` when it goes (remote_object's
  // destructor), whatever becomes of the item. (The driver's cluster
  // client makes the records of its generator tasks' items itself, with
  // deliver_item_record, to rebuild a lost one by re-running the task.)
  route(task_id, far_item{at, {}, kept_record(object_id{object}, node, size), from, {}});
}

void item_stream::deliver_lent(uint64_t task_id, uint64_t at, uint16_t node, uint64_t object,
                               uint64_t size, std::string host, uint16_t port,
                               const caf::actor& from) {
  // Read like a borrowed ref's object: from the lender's data path, and
  // the record's end tells the lender this node let go (it frees it).
  auto obj = lent_record(object_id{object}, node, size, node, std::move(host), port);
  route(task_id, far_item{at, {}, std::move(obj), from, {}});
}

void deliver_item_record(uint64_t task_id, uint64_t at, remote_ptr record, caf::actor from) {
  route(task_id, far_item{at, {}, std::move(record), std::move(from), {}});
}

namespace {

void push_at(item_stream& s, far_item far) {
  slot_ptr item;
  try {
    if (far.stored) {
      if (s.item_type == nullptr || s.item_codec == nullptr)
        return; // not a stream of decodable items (no node sends it any)
      auto& store = runtime::here("a generator's item from another node").store();
      item = store.table().create(record_id(*far.stored));
      auto size = record_size(*far.stored);
      item->seal_remote(*s.item_type, size, s.item_codec, std::move(far.stored));
    } else {
      if (!s.decode_item)
        return;
      item = s.decode_item(far.bytes);
    }
  } catch (...) {
    auto& rt = runtime::require("a generator's item from another node");
    item = rt.store().table().create(rt.next_object_id());
    item->seal_error(std::current_exception());
  }
  s.push_indexed(far.at, std::move(item), far.from);
}

} // namespace

void item_stream::push_indexed(uint64_t at, slot_ptr item, const caf::actor& from) {
  size_t ack = 0;
  caf::actor ack_to;
  wait_.notify([&] {
    if (window_ != 0 && from) {
      if (!producer_ || *producer_ != from) // kept: one allocation per producer, not per item
        producer_ = std::make_shared<const caf::actor>(from);
      // A run after a retry starts from item 0 and counts no acks yet:
      // its repeats get the caller's count, so it does not wait for acks
      // of items taken before it started.
      if (at < delivered_ && taken_ != 0) {
        ack = ack_sent_ = taken_;
        ack_to = *producer_;
      }
    }
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
  if (ack != 0)
    send_ack(ack_to, ack);
}

} // namespace manta::detail
