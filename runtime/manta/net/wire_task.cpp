#include "manta/net/wire.hpp"

#include "manta/net/wire_reader.hpp"

#include "schemas/task.capnp.h"

namespace manta::detail::wire {

// schema::TaskSpec and schema::Batch: what an owner sends a node to run.

/// Where a copy of an object is (`x`: a holder, or an arg_ref's first
/// copy): the node and how to reach its data port.
template <class F, class Message>
void holder_fields(F&& f, Message& x) {
  f(x.node, MANTA_WIRE_FIELD(Node));
  f(x.host, MANTA_WIRE_FIELD(Host));
  f(x.data_port, MANTA_WIRE_FIELD(DataPort));
}

template <class F>
void fields(F&& f, holder& x) {
  holder_fields(f, x);
}

template <class F>
void fields(F&& f, arg_ref& x) {
  f(x.position, MANTA_WIRE_FIELD(Position));
  f(x.object_id, MANTA_WIRE_FIELD(ObjectId));
  holder_fields(f, x);
  f(x.size, MANTA_WIRE_FIELD(Size));
  f(x.copies, MANTA_WIRE_FIELD(Copies));
}

template <class F>
void fields(F&& f, task_message& x) {
  f(x.task_id, MANTA_WIRE_FIELD(TaskId));
  f(x.function_name, MANTA_WIRE_FIELD(FunctionName));
  f(x.signature, MANTA_WIRE_FIELD(Signature));
  f(x.name, MANTA_WIRE_FIELD(Name));
  run_fields(f, x);
  f(x.max_retries, MANTA_WIRE_FIELD(MaxRetries));
  f(x.attempt, MANTA_WIRE_FIELD(Attempt));
  f(x.actor_id, MANTA_WIRE_FIELD(ActorId));
  f(x.layout_hash, MANTA_WIRE_FIELD(LayoutHash));
  f(x.item_window, MANTA_WIRE_FIELD(ItemWindow));
  f(x.arg_refs, MANTA_WIRE_FIELD(ArgRefs));
}

namespace {

/// Why the runtime cannot run `x`, or empty.
std::string check(const task_message& x) {
  std::vector<bool> referenced(x.args.size());
  for (auto& a : x.arg_refs) {
    if (a.position >= x.args.size() || referenced[a.position])
      return "argument reference to position " + std::to_string(a.position) + " of "
             + std::to_string(x.args.size()) + " arguments (out of range or twice)";
    if (!x.args[a.position].empty())
      return "argument " + std::to_string(a.position) + " is both inline and referenced";
    referenced[a.position] = true;
  }
  if (x.function_name.empty())
    return "no function name";
  if (x.max_retries < -1)
    return "max_retries " + std::to_string(x.max_retries) + " (at least -1)";
  return check_resources(x.demand.cpus, x.demand.custom);
}

} // namespace

bytes encode(const task_message& x) {
  return encode_fields<schema::TaskSpec>(x, blobs_bytes(x.args));
}

std::string decode(std::span<const char> in, task_message& out) {
  return decode_fields<schema::TaskSpec>("TaskSpec", in, out, check);
}

bytes encode_batch(const std::vector<bytes>& items) {
  return build<schema::Batch>(
    [&](schema::Batch::Builder b) {
      write_list(b.initItems(static_cast<unsigned>(items.size())), items);
    },
    blobs_bytes(items));
}

std::string decode_batch(std::span<const char> in, std::vector<bytes>& out) {
  return read("Batch", in, [&](capnp::MessageReader& reader) -> std::string {
    read_list(reader.getRoot<schema::Batch>().getItems(), out);
    return {};
  });
}

} // namespace manta::detail::wire
