#include "manta/detail/wire.hpp"

#include "manta/detail/wire_reader.hpp"

#include "schemas/actor.capnp.h"

namespace manta::detail::wire {

// schema::ActorSpec and schema::ActorCreated: an actor another node hosts.

bytes encode(const actor_message& x) {
  return build<schema::ActorSpec>(
    [&](schema::ActorSpec::Builder b) {
      b.setActorId(x.actor_id);
      b.setClassName(x.class_name);
      b.setConstructorKey(x.constructor_key);
      b.setName(x.name);
      set_run_fields(b, x);
      b.setMaxRestarts(x.max_restarts);
      b.setMaxTaskRetries(x.max_task_retries);
      b.setMaxConcurrency(x.max_concurrency);
      b.setRestarts(x.restarts);
      b.setDetached(x.detached);
    },
    blobs_bytes(x.args));
}

std::string decode(std::span<const char> in, actor_message& out) {
  return read_root<schema::ActorSpec>("ActorSpec", in,
                                      [&](schema::ActorSpec::Reader r) -> std::string {
                                        out.actor_id = r.getActorId();
                                        out.class_name = r.getClassName().cStr();
                                        out.constructor_key = r.getConstructorKey().cStr();
                                        out.name = r.getName().cStr();
                                        get_run_fields(r, out);
                                        out.max_restarts = r.getMaxRestarts();
                                        out.max_task_retries = r.getMaxTaskRetries();
                                        out.max_concurrency = r.getMaxConcurrency();
                                        out.restarts = r.getRestarts();
                                        out.detached = r.getDetached();
                                        if (out.actor_id == 0)
                                          return "actor id 0 (ids start at 1)";
                                        if (out.class_name.empty())
                                          return "no class name";
                                        if (out.max_restarts < -1 || out.max_task_retries < -1)
                                          return "max_restarts/max_task_retries below -1";
                                        if (out.max_concurrency < 0 || out.restarts < 0)
                                          return "negative max_concurrency or restart count";
                                        return check_resources(out.demand.cpus, out.demand.custom);
                                      });
}

bytes encode(const actor_created_message& x) {
  return build<schema::ActorCreated>([&](schema::ActorCreated::Builder b) {
    b.setActorId(x.actor_id);
    b.setError(x.error);
  });
}

std::string decode(std::span<const char> in, actor_created_message& out) {
  return read_root<schema::ActorCreated>("ActorCreated", in,
                                         [&](schema::ActorCreated::Reader r) -> std::string {
                                           out.actor_id = r.getActorId();
                                           out.error = r.getError().cStr();
                                           return {};
                                         });
}

} // namespace manta::detail::wire
