#include "manta/net/wire.hpp"

#include "manta/net/wire_reader.hpp"

#include "schemas/task.capnp.h"

namespace manta::detail::wire {

// schema::TaskQueue (each protocol's messages in a wire_*.cpp of their own).

template <class F>
void fields(F&& f, queue_message& x) {
  f(x.queued, MANTA_WIRE_FIELD(Queued));
  f(x.started, MANTA_WIRE_FIELD(Started));
  f(x.limit, MANTA_WIRE_FIELD(Limit));
}

bytes encode(const queue_message& x) {
  return encode_fields<schema::TaskQueue>(x);
}

std::string decode(std::span<const char> in, queue_message& out) {
  return decode_fields<schema::TaskQueue>("TaskQueue", in, out);
}

} // namespace manta::detail::wire
