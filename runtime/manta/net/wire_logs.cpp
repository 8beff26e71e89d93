#include "manta/net/wire.hpp"

#include "manta/net/wire_reader.hpp"

#include "schemas/task.capnp.h"

namespace manta::detail::wire {

// schema::LogBatch: the lines a node's tasks printed, sent to their owners.

template <class F>
void fields(F&& f, log_line& x) {
  f(x.task_id, MANTA_WIRE_FIELD(TaskId));
  f(x.to_stderr, MANTA_WIRE_FIELD(ToStderr));
  f(x.text, MANTA_WIRE_FIELD(Text));
}

template <class F>
void fields(F&& f, log_batch& x) {
  f(x.node, MANTA_WIRE_FIELD(Node));
  f(x.dropped, MANTA_WIRE_FIELD(Dropped));
  f(x.lines, MANTA_WIRE_FIELD(Lines));
}

bytes encode(const log_batch& x) {
  return encode_fields<schema::LogBatch>(x);
}

std::string decode(std::span<const char> in, log_batch& out) {
  return decode_fields<schema::LogBatch>("LogBatch", in, out, [](const log_batch& x) {
    return x.node.empty() ? std::string{"no node name"} : std::string{};
  });
}

} // namespace manta::detail::wire
