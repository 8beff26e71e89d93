#pragma once

#include "manta/errors.hpp"
#include "manta/object_ref.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

namespace manta {

namespace detail {

using clock = std::chrono::steady_clock;

/// Blocks until `slot` is sealed or the deadline passes; rethrows a sealed
/// error; throws `get_timeout_error` on timeout. Inside a task, the task's
/// CPUs are handed back while it blocks, so nested tasks can run.
void await(object_slot& slot, clock::time_point deadline);

/// Checks that a sealed value has type `T`; throws a clear error if not.
void check_type(const object_slot& slot, const std::type_info& expected);

template <class T>
object_slot& ready_slot(const object_ref<T>& ref, clock::time_point deadline) {
  if (!ref)
    throw invalid_argument_error("manta::get: the object_ref is empty "
                                 "(default-constructed or moved from)");
  auto& slot = *ref.slot();
  await(slot, deadline);
  if constexpr (!std::is_void_v<T>)
    check_type(slot, typeid(T));
  return slot;
}

/// The deadline of the `get` with a timeout running on this thread, or
/// `time_point::max()`: reading a sealed object that lives on another node
/// (fetching its bytes) waits no longer, so the timeout bounds the whole
/// `get`, fetch included (cluster::fetch throws `get_timeout_error`).
clock::time_point read_deadline() noexcept;

/// Sets `read_deadline()` for this thread while it lives.
class read_deadline_scope {
public:
  explicit read_deadline_scope(clock::time_point deadline) noexcept;
  ~read_deadline_scope();
  read_deadline_scope(const read_deadline_scope&) = delete;
  read_deadline_scope& operator=(const read_deadline_scope&) = delete;

private:
  clock::time_point previous_;
};

/// `clock::now() + timeout`; in a simulation, on the thread that drives it,
/// also noted with its exact virtual deadline (get.cpp), so that the wait
/// takes `timeout` of virtual time whatever real time passes before it.
clock::time_point deadline_from_now(clock::duration timeout);

template <class Rep, class Period>
clock::time_point deadline_after(std::chrono::duration<Rep, Period> timeout) {
  return deadline_from_now(std::chrono::duration_cast<clock::duration>(timeout));
}

} // namespace detail

/// Waits for the value behind `ref` and returns a copy of it. Throws the
/// task's error (`task_error`, `task_cancelled_error`, ...) if it failed.
/// For large values prefer `get_shared`, which does not copy. A spilled
/// value is read back from disk first.
template <class T>
T get(const object_ref<T>& ref) {
  auto& slot = detail::ready_slot(ref, detail::clock::time_point::max());
  if constexpr (!std::is_void_v<T>)
    return slot.template copy_as<T>();
}

/// Like `get(ref)`, but throws `get_timeout_error` after `timeout`.
template <class T, class Rep, class Period>
T get(const object_ref<T>& ref, std::chrono::duration<Rep, Period> timeout) {
  auto deadline = detail::deadline_after(timeout);
  auto& slot = detail::ready_slot(ref, deadline);
  detail::read_deadline_scope bound{deadline};
  if constexpr (!std::is_void_v<T>)
    return slot.template copy_as<T>();
}

/// Waits for the value and returns the store's own immutable copy: no copy
/// is made, however large the value. While the result lives the value stays
/// in memory (it is never spilled from under it).
template <class T>
std::shared_ptr<const T> get_shared(const object_ref<T>& ref) {
  auto& slot = detail::ready_slot(ref, detail::clock::time_point::max());
  return std::static_pointer_cast<const T>(slot.shared_value());
}

/// Like `get_shared(ref)`, but throws `get_timeout_error` after `timeout`.
template <class T, class Rep, class Period>
std::shared_ptr<const T> get_shared(const object_ref<T>& ref,
                                    std::chrono::duration<Rep, Period> timeout) {
  auto deadline = detail::deadline_after(timeout);
  auto& slot = detail::ready_slot(ref, deadline);
  detail::read_deadline_scope bound{deadline};
  return std::static_pointer_cast<const T>(slot.shared_value());
}

/// Gets many values, in the order of `refs`. Throws the first error met.
template <class T>
std::vector<T> get(const std::vector<object_ref<T>>& refs) {
  std::vector<T> out;
  out.reserve(refs.size());
  for (auto& r : refs)
    out.push_back(get(r));
  return out;
}

/// Gets many values; the timeout bounds the whole call.
template <class T, class Rep, class Period>
std::vector<T> get(const std::vector<object_ref<T>>& refs,
                   std::chrono::duration<Rep, Period> timeout) {
  auto deadline = detail::deadline_after(timeout);
  detail::read_deadline_scope bound{deadline};
  std::vector<T> out;
  out.reserve(refs.size());
  for (auto& r : refs)
    out.push_back(detail::ready_slot(r, deadline).template copy_as<T>());
  return out;
}

} // namespace manta
