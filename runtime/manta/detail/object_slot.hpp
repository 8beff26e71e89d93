#pragma once

#include "manta/object_id.hpp"

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <typeinfo>
#include <vector>

namespace manta::detail {

class task_spec;

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
/// every reader in the process shares one immutable copy.
class object_slot {
public:
  object_slot(object_id id, std::weak_ptr<task_spec> producer = {});
  ~object_slot();

  object_slot(const object_slot&) = delete;
  object_slot& operator=(const object_slot&) = delete;

  object_id id() const noexcept { return id_; }

  /// True once a value or an error has been sealed.
  bool done() const noexcept {
    return state_.load(std::memory_order_acquire) != pending;
  }

  /// True if the slot holds an error. Only meaningful once `done()`.
  bool failed() const noexcept {
    return state_.load(std::memory_order_acquire) == failed_state;
  }

  /// The sealed value. Requires `done() && !failed()`.
  const std::shared_ptr<const void>& value() const noexcept { return value_; }

  /// The type of the sealed value. Requires `done() && !failed()`.
  const std::type_info& type() const noexcept { return *type_; }

  /// The sealed error. Requires `failed()`.
  const std::exception_ptr& error() const noexcept { return error_; }

  /// Bytes the value occupies, as measured when sealed.
  size_t size_bytes() const noexcept { return size_bytes_; }

  /// Position in the node's completion order, for `wait`.
  uint64_t seal_seq() const noexcept { return seal_seq_; }

  /// Reads the value as `T`. Requires `done() && !failed()` and type `T`.
  template <class T>
  const T& as() const noexcept {
    return *static_cast<const T*>(value_.get());
  }

  /// Seals a value; returns false if the slot was sealed before.
  bool seal_value(std::shared_ptr<const void> value, const std::type_info& type,
                  size_t size_bytes);

  /// Seals an error; returns false if the slot was sealed before.
  bool seal_error(std::exception_ptr error);

  /// Registers `w` to be told when the slot is sealed. Returns false (and
  /// does not register) if the slot is sealed already.
  bool add_waiter(waiter* w);

  /// Unregisters `w` if it has not been told yet.
  void remove_waiter(waiter* w);

  /// The task that produces this object, if it is still alive.
  std::shared_ptr<task_spec> producer() const { return producer_.lock(); }

private:
  enum : uint8_t { pending = 0, ready_state = 1, failed_state = 2 };

  template <class F>
  bool seal(uint8_t state, F&& store);

  const object_id id_;
  std::atomic<uint8_t> state_{pending};
  std::mutex mtx_;
  std::vector<waiter*> waiters_;
  std::shared_ptr<const void> value_;
  const std::type_info* type_ = &typeid(void);
  std::exception_ptr error_;
  size_t size_bytes_ = 0;
  uint64_t seal_seq_ = 0;
  std::weak_ptr<task_spec> producer_;
};

using slot_ptr = std::shared_ptr<object_slot>;

} // namespace manta::detail
