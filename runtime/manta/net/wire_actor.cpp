#include "manta/net/wire.hpp"

#include "manta/net/wire_reader.hpp"

#include "schemas/actor.capnp.h"

namespace manta::detail::wire {

// schema::ActorSpec and schema::ActorCreated: an actor another node hosts.

template <class F>
void fields(F&& f, actor_message& x) {
  f(x.actor_id, MANTA_WIRE_FIELD(ActorId));
  f(x.class_name, MANTA_WIRE_FIELD(ClassName));
  f(x.constructor_key, MANTA_WIRE_FIELD(ConstructorKey));
  f(x.name, MANTA_WIRE_FIELD(Name));
  run_fields(f, x);
  f(x.max_restarts, MANTA_WIRE_FIELD(MaxRestarts));
  f(x.max_task_retries, MANTA_WIRE_FIELD(MaxTaskRetries));
  f(x.max_concurrency, MANTA_WIRE_FIELD(MaxConcurrency));
  f(x.restarts, MANTA_WIRE_FIELD(Restarts));
  f(x.detached, MANTA_WIRE_FIELD(Detached));
}

template <class F>
void fields(F&& f, actor_created_message& x) {
  f(x.actor_id, MANTA_WIRE_FIELD(ActorId));
  f(x.error, MANTA_WIRE_FIELD(Error));
}

namespace {

/// Why the runtime cannot host `x`, or empty.
std::string check(const actor_message& x) {
  if (x.actor_id == 0)
    return "actor id 0 (ids start at 1)";
  if (x.class_name.empty())
    return "no class name";
  if (x.max_restarts < -1 || x.max_task_retries < -1)
    return "max_restarts/max_task_retries below -1";
  if (x.max_concurrency < 0 || x.restarts < 0)
    return "negative max_concurrency or restart count";
  return check_resources(x.demand.cpus, x.demand.custom);
}

} // namespace

bytes encode(const actor_message& x) {
  return encode_fields<schema::ActorSpec>(x, blobs_bytes(x.args));
}

std::string decode(std::span<const char> in, actor_message& out) {
  return decode_fields<schema::ActorSpec>("ActorSpec", in, out, check);
}

bytes encode(const actor_created_message& x) {
  return encode_fields<schema::ActorCreated>(x);
}

std::string decode(std::span<const char> in, actor_created_message& out) {
  return decode_fields<schema::ActorCreated>("ActorCreated", in, out);
}

} // namespace manta::detail::wire
