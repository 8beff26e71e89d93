#include "manta/sim/sim_fiber.hpp"

#include "manta/observe/log_sink.hpp"

#include <cstdint>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <vector>

namespace manta::detail::sim {

namespace {

thread_local fiber* t_current = nullptr;

/// Stacks of finished fibers, kept for the next ones: a million tasks are
/// not a million mmap calls.
thread_local std::vector<void*> t_free_stacks;

size_t guard_size() {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

void* take_stack() {
  if (!t_free_stacks.empty()) {
    auto* s = t_free_stacks.back();
    t_free_stacks.pop_back();
    return s;
  }
  auto total = fiber::stack_size + guard_size();
  void* p = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw std::runtime_error("manta sim: no memory for a task's stack");
  ::mprotect(p, guard_size(), PROT_NONE); // an overflow faults instead of corrupting
  return p;
}

void give_stack(void* s) {
  if (t_free_stacks.size() < 1024)
    t_free_stacks.push_back(s);
  else
    ::munmap(s, fiber::stack_size + guard_size());
}

} // namespace

struct fiber::impl {
  ucontext_t self;
  ucontext_t caller;
  void* stack = nullptr;
};

fiber::fiber(std::function<void()> body) : impl_(std::make_unique<impl>()), body_(std::move(body)) {
  impl_->stack = take_stack();
  ::getcontext(&impl_->self);
  impl_->self.uc_stack.ss_sp = static_cast<char*>(impl_->stack) + guard_size();
  impl_->self.uc_stack.ss_size = stack_size;
  impl_->self.uc_link = nullptr;
  auto p = reinterpret_cast<uintptr_t>(this);
  ::makecontext(&impl_->self, reinterpret_cast<void (*)()>(&fiber::entry), 2,
                static_cast<unsigned>(p & 0xffffffffu), static_cast<unsigned>(p >> 32));
}

fiber::~fiber() {
  if (impl_->stack != nullptr)
    give_stack(impl_->stack);
}

fiber* fiber::current() noexcept {
  return t_current;
}

void fiber::entry(unsigned lo, unsigned hi) {
  auto* self = reinterpret_cast<fiber*>((static_cast<uintptr_t>(hi) << 32) | lo);
  try {
    self->body_();
  } catch (const std::exception& e) {
    // Nothing may leave a fiber's first frame: it has no caller to unwind to.
    log_line(log_level::error, "manta sim: a run ended with an exception: %s\n", e.what());
  } catch (...) {
    log_line(log_level::error, "manta sim: a run ended with an unknown exception\n");
  }
  self->finished_ = true;
  t_current = self->previous_;
  ::swapcontext(&self->impl_->self, &self->impl_->caller);
}

void fiber::resume() {
  if (finished_)
    return;
  previous_ = t_current;
  t_current = this;
  ::swapcontext(&impl_->caller, &impl_->self);
}

void fiber::yield() {
  t_current = previous_;
  ::swapcontext(&impl_->self, &impl_->caller);
}

} // namespace manta::detail::sim
