#include "manta/detail/wire.hpp"

#include "manta/detail/wire_reader.hpp"

#include "schemas/task.capnp.h"

namespace manta::detail::wire {

// schema::TaskQueue (each protocol's messages in a wire_*.cpp of their own).

bytes encode(const queue_message& x) {
  return build<schema::TaskQueue>([&](schema::TaskQueue::Builder b) {
    auto queued = b.initQueued(static_cast<unsigned>(x.queued.size()));
    for (unsigned i = 0; i < x.queued.size(); ++i)
      queued.set(i, x.queued[i]);
    auto started = b.initStarted(static_cast<unsigned>(x.started.size()));
    for (unsigned i = 0; i < x.started.size(); ++i)
      started.set(i, x.started[i]);
    b.setLimit(x.limit);
  });
}

std::string decode(std::span<const char> in, queue_message& out) {
  return read_root<schema::TaskQueue>("TaskQueue", in,
                                      [&](schema::TaskQueue::Reader r) -> std::string {
                                        out.queued.clear();
                                        for (auto id : r.getQueued())
                                          out.queued.push_back(id);
                                        out.started.clear();
                                        for (auto id : r.getStarted())
                                          out.started.push_back(id);
                                        out.limit = r.getLimit();
                                        return {};
                                      });
}

} // namespace manta::detail::wire
