#pragma once

// A test that plays a task's owner (it sends a node manager a TaskSpec
// itself, made with `task_spec`) reads the answer with `receive_answer`: a
// TaskResult comes in one message (result_atom, token, bytes), or, from the
// thread that ran a lone task, with its value beside it (result_atom, token,
// bytes, shared_bytes: actors/hosted_results.cpp, early_answer).

#include "actors/cluster_atoms.hpp"
#include "manta/net/shared_bytes.hpp"
#include "manta/core/codec.hpp"
#include "manta/net/wire.hpp"
#include "manta/sched/function_registry.hpp"

#include <caf/scoped_actor.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace manta_test {

/// A TaskResult as it arrived, with the bytes its `value` views.
struct task_answer : manta::detail::wire::result_message {
  manta::detail::wire::bytes bytes; ///< The message.
  std::vector<char> beside;         ///< The value, if it came beside the message.
  std::string token;                ///< The cluster token it came with.
  caf::strong_actor_ptr sender;     ///< Who sent it.
  std::string undecodable;                ///< Why the message did not decode; empty if it did.
};

/// A TaskSpec, as an owner writes it, of the registered function
/// `function` on one CPU, its arguments `args` encoded inline.
template <class... Ts>
manta::detail::wire::task_message task_spec(uint64_t id, const std::string& function,
                                            const Ts&... args) {
  manta::detail::wire::task_message t;
  t.task_id = id;
  t.function_name = function;
  t.signature = manta::detail::find_function(function)->signature;
  t.args = {manta::detail::encode(args)...};
  t.demand.cpus = 1;
  return t;
}

/// Waits up to `timeout` for a TaskResult to `self`; false if none came.
inline bool receive_answer(caf::scoped_actor& self, task_answer& out,
                           std::chrono::milliseconds timeout) {
  using manta::actors::result_atom;
  namespace wire = manta::detail::wire;
  bool got = false;
  auto take = [&](const std::string& token, const wire::bytes& b) {
    got = true;
    out.token = token;
    out.sender = self->current_sender();
    out.bytes = b;
    out.undecodable = wire::decode(out.bytes, out);
  };
  self->receive(
    [&](result_atom, const std::string& token, const wire::bytes& b) { take(token, b); },
    [&](result_atom, const std::string& token, const wire::bytes& b,
        const wire::shared_bytes& value) {
      take(token, b);
      auto v = value.view();
      out.beside.assign(v.begin(), v.end());
      if (out.kind == wire::result_message::inline_value && out.value.empty())
        out.value = {out.beside.data(), out.beside.size()};
    },
    caf::after(timeout) >> [] {});
  return got;
}

} // namespace manta_test
