#pragma once

#include <functional>
#include <memory>

namespace manta::detail::sim {

/// A stack of its own for one run of user code in a simulation, so that a
/// task blocked in `get` or `sleep` gives the thread back to the event loop
/// and continues later where it stopped (ucontext: makecontext and
/// swapcontext). Only the simulation's thread resumes fibers; a fiber
/// yields back to whoever resumed it.
class fiber {
public:
  explicit fiber(std::function<void()> body);
  ~fiber();

  fiber(const fiber&) = delete;
  fiber& operator=(const fiber&) = delete;

  /// Runs the fiber until it yields or its body returns.
  void resume();

  /// From inside the fiber: back to the `resume` that ran it.
  void yield();

  bool finished() const noexcept { return finished_; }

  /// The fiber running now; null on the thread's own stack.
  static fiber* current() noexcept;

  /// Bytes of each fiber's stack (guard page not counted).
  static constexpr size_t stack_size = 1024 * 1024;

private:
  static void entry(unsigned lo, unsigned hi);

  struct impl;
  std::unique_ptr<impl> impl_;
  std::function<void()> body_;
  bool finished_ = false;
  fiber* previous_ = nullptr;
};

} // namespace manta::detail::sim
