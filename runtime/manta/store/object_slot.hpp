#pragma once

#include "manta/object_id.hpp"

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <source_location>
#include <string>
#include <typeinfo>
#include <vector>

namespace manta::detail {

class object_store;
class task_spec;
class value_account;
struct value_codec;
struct remote_object;

/// Values smaller than this are never spilled: writing a file per small
/// object costs more than it frees, and leaving them out of spilling keeps
/// their `get` a plain load (see `spillable`). Ray draws the same line for
/// objects it keeps in the owner's memory.
inline constexpr size_t min_spill_bytes = 64 * 1024;

/// Something to tell when an object becomes ready: a parked thread, a task
/// actor waiting for its arguments, a `wait` over many refs.
class waiter {
public:
  /// Called once per object the waiter was added to, with the slot's lock
  /// held: must be quick and must not touch that slot.
  virtual void on_ready() noexcept = 0;

protected:
  ~waiter() = default;
};

/// One object in the local store: the shared, typed value (or the error that
/// replaced it) plus the waiters to tell when it is sealed. An object is
/// sealed once; the first seal wins, later ones are ignored (a cancelled
/// task that finishes anyway, a retry racing a shutdown).
///
/// Values are kept as `shared_ptr<const T>` behind a type-erased pointer, so
/// every reader in the process shares one immutable copy; a task's small
/// trivially copyable result is kept in the slot itself (`seal_inline`).
///
/// A large value whose type has a codec is *spillable*: when the node's
/// memory budget runs out the store may write it to disk and drop it from
/// memory, and the next reader restores it. Readers of spillable values pin
/// them (`value_pin`) while they hold a reference into them; a spill only
/// happens to a value with no pins and no `shared_ptr` handed out. Readers
/// of other values read them directly, as before: one load, no lock.
class object_slot {
public:
  /// `store`: the store it belongs to, which it keeps alive (its values
  /// count in its budget, its spill file lives there); null only for a slot
  /// made with no runtime (a test's, the actors' result sink), which counts
  /// nowhere and is never spilled. `producer`: the task whose result this
  /// is, if any (kept weakly). `object_table::create` also registers it.
  object_slot(object_store* store, object_id id,
              const std::shared_ptr<task_spec>& producer = nullptr);
  ~object_slot();

  object_slot(const object_slot&) = delete;
  object_slot& operator=(const object_slot&) = delete;

  object_id id() const noexcept { return id_; }

  /// The store the slot belongs to (null: see the constructor).
  object_store* store() const noexcept { return store_; }

  /// True once a value or an error has been sealed.
  bool done() const noexcept { return state_.load(std::memory_order_acquire) != pending; }

  /// True if the slot holds an error. Only meaningful once `done()`.
  bool failed() const noexcept { return state_.load(std::memory_order_acquire) == failed_state; }

  /// The sealed value, shared: pins it into memory while taking the copy,
  /// restoring it from disk if it was spilled. Requires `done() && !failed()`.
  /// Throws `object_lost_error` if a spilled value cannot be read back.
  std::shared_ptr<const void> shared_value() const;

  /// The type of the sealed value. Requires `done() && !failed()`.
  const std::type_info& type() const noexcept { return *type_; }

  /// The sealed error. Requires `failed()`.
  const std::exception_ptr& error() const noexcept { return error_; }

  /// Bytes the value occupies, as measured when sealed.
  size_t size_bytes() const noexcept { return size_bytes_; }

  /// Position in the node's completion order, for `wait`.
  uint64_t seal_seq() const noexcept { return seal_seq_; }

  /// Reads the value as `T`. Requires `done() && !failed()`, type `T`, and
  /// either `!spillable()` or a pin held by the caller (`value_pin`).
  template <class T>
  const T& as() const noexcept {
    return *static_cast<const T*>(value_.get());
  }

  /// Copies the value out as `T`, pinning it for the copy if it could be
  /// spilled. Requires `done() && !failed()` and type `T`.
  template <class T>
  T copy_as() const;

  /// Seals a value; returns false if the slot was sealed before. `codec`
  /// (null if the type has none) lets a large value be spilled.
  bool seal_value(std::shared_ptr<const void> value, const std::type_info& type, size_t size_bytes,
                  const value_codec* codec = nullptr);

  /// Bytes a value may have to be kept in the slot itself (`seal_inline`).
  static constexpr size_t inline_capacity = 16;

  /// Seals a copy of the `n` bytes at `value`, a trivially copyable value of
  /// `type` of at most `inline_capacity` bytes and alignment 16, kept in the
  /// slot itself: a task's small result (an `int`, a `double`) costs no
  /// allocation of its own. Readers see it as any other value;
  /// `shared_value` hands out one shared copy, made on first use.
  bool seal_inline(const void* value, size_t n, const std::type_info& type, size_t size_bytes,
                   const value_codec* codec = nullptr);

  // -- spilling ---------------------------------------------------------------

  /// Whether the store may move the value to disk. Fixed when sealed (a
  /// large value whose type has a codec), so readers test it without a load.
  bool spillable() const noexcept { return spillable_; }

  /// False while the value is on disk only (or being moved there).
  bool resident() const noexcept {
    return (residency_.load(std::memory_order_acquire) & evicted_bit) == 0;
  }

  /// Readers holding a reference into the value right now.
  uint32_t pins() const noexcept {
    return residency_.load(std::memory_order_relaxed) & ~evicted_bit;
  }

  /// Pins the value in memory, restoring it first if it was spilled.
  /// Throws `object_lost_error` if the spill file cannot be read.
  void pin() const {
    auto prev = residency_.fetch_add(1, std::memory_order_acquire);
    if ((prev & evicted_bit) != 0) {
      residency_.fetch_sub(1, std::memory_order_relaxed);
      pin_slow();
    }
  }

  void unpin() const noexcept { residency_.fetch_sub(1, std::memory_order_release); }

  /// Writes the value to disk (unless an up-to-date spill file exists) and
  /// drops it from memory. Returns the bytes freed; 0 when the value is not
  /// spillable, pinned, shared through `get_shared` (or a `shared_ptr` the
  /// caller of `put` kept), busy, or the write failed. `rewrite` writes a fresh file even if one
/// exists (benchmarks).
  size_t spill(bool rewrite = false) noexcept;

  /// Whether the value's last spill file is still valid (a later spill then
  /// just drops the memory: eviction without I/O).
  bool has_spill_file() const noexcept;

  // -- provenance, for memory_summary -----------------------------------------

  /// Records where user code created the object (`put`).
  void set_origin(std::source_location loc) noexcept { origin_ = loc; }

  const std::source_location& origin() const noexcept { return origin_; }

  /// The name of the function whose task produces the object, or null.
  const std::string* task_name() const noexcept { return task_name_; }

  /// The codec captured at seal time, or null.
  const value_codec* codec() const noexcept { return codec_; }

  /// Seals an error; returns false if the slot was sealed before.
  bool seal_error(std::exception_ptr error);

  /// Seals a task result that stays on another node (cluster): the slot is
  /// done, but the value is not resident; the first reader's pin fetches
  /// it through `remote` (see remote_object.hpp), like a spilled value is
  /// read back from disk.
  bool seal_remote(const std::type_info& type, size_t encoded_size, const value_codec* codec,
                   std::shared_ptr<remote_object> remote);

  /// Where a result sealed with `seal_remote` lives; null otherwise.
  const std::shared_ptr<remote_object>& remote() const noexcept { return remote_; }

  /// Registers `w` to be told when the slot is sealed. Returns false (and
  /// does not register) if the slot is sealed already.
  bool add_waiter(waiter* w);

  /// Unregisters `w` if it has not been told yet.
  void remove_waiter(waiter* w);

  /// The task that produces this object, if it is still alive.
  std::shared_ptr<task_spec> producer() const { return producer_.lock(); }

private:
  enum : uint8_t { pending = 0, ready_state = 1, failed_state = 2 };

  /// Set in `residency_` while the value is not (reliably) in memory; the
  /// low bits count pins. A spill must swap exactly 0 (resident, unpinned)
  /// for this bit, so a pin and a spill can never both succeed.
  static constexpr uint32_t evicted_bit = 0x80000000u;

  void pin_slow() const;

  /// `shared_value` of a value kept inline: its one shared copy.
  std::shared_ptr<const void> shared_inline() const;

  /// Seals `type` and the rest, `keep` storing the value itself.
  template <class F>
  bool seal_ready(const std::type_info& type, size_t size_bytes, const value_codec* codec,
                  F&& keep);

  /// Stores `value` as the resident value, counted in the node's memory
  /// until its last pointer is gone (`accounted_value.hpp`); a value under
  /// `min_spill_bytes` is counted while the slot holds it.
  void keep_value(std::shared_ptr<const void> value) const;

  /// Lets go of the resident value (spilled or evicted).
  void drop_value() const noexcept;

  template <class F>
  bool seal(uint8_t state, F&& store);

  object_store* const store_;
  const object_id id_;
  std::atomic<uint8_t> state_{pending};
  mutable std::atomic<uint32_t> residency_{0};
  bool spillable_ = false;
  mutable std::mutex mtx_;
  std::vector<waiter*> waiters_;
  /// The value, sharing ownership with its `value_account` (`account_`,
  /// null for an empty value): a reader's `shared_ptr` keeps it counted.
  mutable std::shared_ptr<const void> value_;
  mutable const value_account* account_ = nullptr;
  const std::type_info* type_ = &typeid(void);
  std::exception_ptr error_;
  size_t size_bytes_ = 0;
  uint64_t seal_seq_ = 0;
  std::weak_ptr<task_spec> producer_;
  const value_codec* codec_ = nullptr;
  std::source_location origin_{};
  const std::string* task_name_ = nullptr;
  /// The spill file (guarded by `mtx_`), its size on disk and the spill
  /// store's generation it belongs to (files die with the runtime).
  std::string spill_path_;
  size_t spill_file_bytes_ = 0;
  uint64_t spill_generation_ = 0;
  /// Set once by seal_remote.
  std::shared_ptr<remote_object> remote_;
  /// A value sealed with `seal_inline` (`value_` then points here, owning
  /// nothing) and its shared copy for `shared_value` (guarded by `mtx_`).
  alignas(16) unsigned char inline_[inline_capacity] = {};
  mutable std::shared_ptr<const void> inline_shared_;
};

using slot_ptr = std::shared_ptr<object_slot>;

/// Keeps a spillable value in memory while a reader holds a reference into
/// it (a running task's `const T&` argument). Does nothing for values that
/// cannot be spilled. A copy starts unpinned: pins belong to a read, not to
/// whoever holds the ref.
class value_pin {
public:
  value_pin() noexcept = default;
  explicit value_pin(const object_slot& slot) { reset(slot); }
  value_pin(const value_pin&) noexcept {}
  value_pin(value_pin&& other) noexcept : slot_(other.slot_) { other.slot_ = nullptr; }
  // Assigning a pin keeps this one's own pin (self-assignment included).
  // NOLINTNEXTLINE(bugprone-unhandled-self-assignment)
  value_pin& operator=(const value_pin&) noexcept { return *this; }
  value_pin& operator=(value_pin&& other) noexcept {
    if (this != &other) {
      release();
      slot_ = other.slot_;
      other.slot_ = nullptr;
    }
    return *this;
  }
  ~value_pin() { release(); }

  /// Pins `slot` (after releasing any previous pin).
  void reset(const object_slot& slot) {
    release();
    if (slot.spillable()) {
      slot.pin();
      slot_ = &slot;
    }
  }

  void release() noexcept {
    if (slot_ != nullptr) {
      slot_->unpin();
      slot_ = nullptr;
    }
  }

private:
  const object_slot* slot_ = nullptr;
};

template <class T>
T object_slot::copy_as() const {
  if (!spillable_)
    return as<T>();
  value_pin pin{*this};
  return as<T>();
}

} // namespace manta::detail
