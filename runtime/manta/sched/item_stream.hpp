#pragma once

#include "manta/store/object_slot.hpp"
#include "manta/sched/ready_wait.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <typeinfo>
#include <vector>

namespace caf {
class actor; // the node managers that send and take items (no CAF in public headers)
} // namespace caf

namespace manta::detail {

struct value_codec;

/// The channel between a streaming generator (a task or actor call given a
/// `generator_sink`) and its caller's `object_ref_generator`: the objects
/// produced and not handed out yet, in order, and whether the producer is
/// over. The producer's own result (`done`, void) marks the end: sealed with
/// a value, the stream ends after the last item; sealed with an error (the
/// producer threw, or was cancelled), the caller gets that error as one more
/// item, at the position where the producer stopped.
///
/// Each item is an object of its own (made by `put` on the producer's
/// thread); the stream holds it only until it is handed out, so an item is
/// freed as soon as the caller drops its ref.
///
/// Back pressure (`window()`, Ray's `_generator_backpressure_num_objects`):
/// with a window of N, a producer about to yield while N of its items were
/// yielded and not handed out yet parks (`room_`, a ready_wait: its CPUs
/// lent like a blocked `get`, no spinning) until the caller takes one. A
/// producer on another node counts what the caller took from its acks
/// (`acknowledge`, sent by `next` through the node's router).
class item_stream {
public:
  using clock = std::chrono::steady_clock;

  item_stream() = default;
  ~item_stream();
  item_stream(const item_stream&) = delete;
  item_stream& operator=(const item_stream&) = delete;

  /// Starts watching the producer's result; called once, by the caller,
  /// right after submitting the producer.
  void watch(slot_ptr done);

  /// Called by the sink at the start of each run of the producer: a retry
  /// runs it again from the start, and the items the first runs already
  /// delivered are skipped (Ray's generator retries do the same).
  void begin_run() noexcept;

  /// Whether the producer's next item is one the caller has not seen (a
  /// retried run repeats the items before it). Throws task_cancelled_error
  /// once the stream is over (cancelled, or the caller dropped it): the
  /// producer stops at its next yield.
  bool admit_next();

  /// Appends a produced item (after admit_next said so).
  void push(slot_ptr item);

  /// Back pressure: at most `n` items yielded and not handed out to the
  /// caller (0: no limit). Set by the caller before submitting, and on a
  /// producer's node by `emit_to`.
  void set_window(uint64_t n) noexcept { window_ = n; }
  uint64_t window() const noexcept { return window_; } ///< 0: no limit.

  /// The next item, waiting until `deadline`: null at the end of the
  /// stream or when the deadline passes first (`finished()` tells which).
  /// A task blocked here lends its CPUs like one blocked in `get`.
  slot_ptr next(clock::time_point deadline);

  /// True once every item, and the error if any, was handed out.
  bool finished() const;

  /// The producer's result.
  const slot_ptr& done() const noexcept { return done_; }

  /// The caller is gone before the end: later yields stop the producer.
  void abandon() noexcept;

  // -- across nodes -----------------------------------------------------------

  /// Turns encoded items from another node into objects (set by the
  /// caller's typed side before `enroll`).
  std::function<slot_ptr(std::span<const char>)> decode_item;
  /// The items' type and codec: a large item from another node stays
  /// there and becomes a slot sealed as remote (`deliver_stored`).
  const std::type_info* item_type = nullptr;
  const value_codec* item_codec = nullptr;

  /// Makes the stream (of a producer whose result is `done()`, watched
  /// already) the one items from other nodes for that task id go to; items
  /// that came first are taken now. Left at destruction.
  static void enroll(const std::shared_ptr<item_stream>& stream);

  /// An item number `index` (from 0 in each run) of the generator task
  /// `task_id` from another node: appended when it is the next one, dropped
  /// when a retry repeats one already delivered.
  /// `from` is the node manager that sent it, where the caller's acks go
  /// (back pressure).
  static void deliver(uint64_t task_id, uint64_t index, std::span<const char> bytes,
                      const caf::actor& from);
  /// `deliver` from no node that takes acks.
  static void deliver(uint64_t task_id, uint64_t index, std::span<const char> bytes);

  /// Like `deliver`, for an item too large to travel inline: node `node`
  /// keeps its `size` encoded bytes as object `object` (held_objects)
  /// until this node frees it; reading it fetches them over the data path
  /// like a large task result. Freed at once if its stream is gone.
  static void deliver_stored(uint64_t task_id, uint64_t index, uint16_t node, uint64_t object,
                             uint64_t size, const caf::actor& from);

  /// Like `deliver_stored`, for a large item of a generator method that a
  /// driver's actor runs for this worker (called through a lent handle):
  /// node `node` keeps it and serves it on its data path at `host`:`port`
  /// (not known here otherwise); the item's slot reads it from there like
  /// a borrowed ref's object, and its end tells `node` this node let go
  /// (`lent_item_gone` there frees it).
  static void deliver_lent(uint64_t task_id, uint64_t index, uint16_t node, uint64_t object,
                           uint64_t size, std::string host, uint16_t port, const caf::actor& from);

  /// On the node keeping a large item sent to another node by
  /// `deliver_lent`: records it, so that the borrower's release frees it.
  static void lend_item(uint64_t object);
  /// The borrower let go of `object`: frees it here if it is such an item
  /// (true), else false (not an item: a borrowed ref's release).
  static bool lent_item_gone(uint64_t object);

  /// The caller of the generator task `task_id` that runs here for another
  /// node took `taken` of its items (back pressure): a producer waiting for
  /// room goes on.
  static void acknowledge(uint64_t task_id, uint64_t taken);

  /// What receives the items a producer run for another node yields: the
  /// index in this run and the encoded item, through `send`; the task's id
  /// and back pressure window (0: none) come with it from the TaskSpec.
  struct emitter {
    std::function<void(uint64_t, std::vector<char>)> send;
    uint64_t task_id = 0;
    uint64_t window = 0;
    explicit operator bool() const noexcept { return static_cast<bool>(send); }
  };

  /// On the node running a generator for another node: each yield goes to
  /// `emit` (with its index in this run) instead of into this stream. With
  /// a window, the stream is found by its task id for the owner's acks.
  void emit_to(emitter emit);
  bool emits() const noexcept { return static_cast<bool>(emit_); } ///< Items go elsewhere?
  /// Sends an encoded item through `emit` (after admit_next).
  void emit(std::vector<char> bytes);
  /// The item admit_next admitted last was not sent: its encoding threw
  /// (the exception goes on to the producer). Its refs are let go (they
  /// never left this node) and its index is taken back: the producer's
  /// error, or its next item if it goes on, takes that place.
  void item_unsent() noexcept;

  /// Drops the items waiting for their stream (runtime shutdown, while the
  /// links run: their pins and records tell their nodes; stream_index.hpp).
  static void forget_far_items() noexcept;

  /// Appends an item from another node (`from`, see `deliver`) if it is
  /// item number `at` (the next one); drops it otherwise.
  void push_indexed(uint64_t at, slot_ptr item, const caf::actor& from);

private:
  /// Tells the stream that the producer's result was sealed.
  struct end_waiter final : waiter {
    item_stream* stream = nullptr;
    void on_ready() noexcept override { stream->on_done(); }
  };

  void on_done() noexcept;

  /// Back pressure: waits (parked) until the item about to be yielded fits
  /// in the window; throws task_cancelled_error if the stream ends first.
  void wait_for_room();

  /// Tells `producer` (the node manager running it) how many items the
  /// caller took.
  void send_ack(const caf::actor& producer, size_t taken) const;

  ready_wait wait_;             // guards what follows but done_ and end_
  std::deque<slot_ptr> items_; // produced, not handed out
  size_t delivered_ = 0;       // items pushed in all runs
  size_t run_index_ = 0;       // items the current run yielded so far
  size_t taken_ = 0;           // items handed out to the caller
  size_t acked_ = 0;           // on a producer's node: the caller's last ack
  size_t ack_sent_ = 0;        // on the caller's: the last ack sent
  std::shared_ptr<const caf::actor> producer_; // on the caller's: who sent the items
  /// Where a producer waits for room; its lock is taken before wait_'s.
  ready_wait room_;
  uint64_t window_ = 0;
  bool over_ = false;          // the producer's result is sealed
  bool abandoned_ = false;     // the caller dropped the stream
  bool error_given_ = false;   // the failure item was handed out
  slot_ptr done_;
  end_waiter end_;
  bool enrolled_ = false;
  bool acked_by_id_ = false; // in the producers' index (emit_to)
  emitter emit_;
};

/// The item sender of the task another node sent that runs on this thread
/// now (remote_task::emit_item), or of the generator method call another
/// node sent that this thread is building (the node manager's); null
/// elsewhere. A streaming generator run for another node yields through it.
const item_stream::emitter* current_item_emitter() noexcept;

/// Makes `emit` the thread's `current_item_emitter()` while it lives.
class item_emitter_scope {
public:
  explicit item_emitter_scope(const item_stream::emitter* emit) noexcept;
  ~item_emitter_scope();
  item_emitter_scope(const item_emitter_scope&) = delete;
  item_emitter_scope& operator=(const item_emitter_scope&) = delete;

private:
  const item_stream::emitter* prev_;
};

} // namespace manta::detail
