#include "manta/detail/wire.hpp"

#include "manta/detail/wire_reader.hpp"

#include "schemas/task.capnp.h"

namespace manta::detail::wire {

// schema::TaskSpec and schema::Batch: what an owner sends a node to run.

bytes encode(const task_message& x) {
  return build<schema::TaskSpec>(
    [&](schema::TaskSpec::Builder b) {
      b.setTaskId(x.task_id);
      b.setFunctionName(x.function_name);
      b.setSignature(x.signature);
      b.setName(x.name);
      set_run_fields(b, x);
      b.setMaxRetries(x.max_retries);
      b.setAttempt(x.attempt);
      b.setActorId(x.actor_id);
      b.setLayoutHash(x.layout_hash);
      b.setItemWindow(x.item_window);
      auto refs = b.initArgRefs(static_cast<unsigned>(x.arg_refs.size()));
      for (unsigned i = 0; i < x.arg_refs.size(); ++i) {
        auto& r = x.arg_refs[i];
        refs[i].setPosition(r.position);
        refs[i].setObjectId(r.object_id);
        refs[i].setNode(r.node);
        refs[i].setHost(r.host);
        refs[i].setDataPort(r.data_port);
        refs[i].setSize(r.size);
        auto copies = refs[i].initCopies(static_cast<unsigned>(r.copies.size()));
        for (unsigned j = 0; j < r.copies.size(); ++j) {
          copies[j].setNode(r.copies[j].node);
          copies[j].setHost(r.copies[j].host);
          copies[j].setDataPort(r.copies[j].data_port);
        }
      }
    },
    blobs_bytes(x.args));
}

std::string decode(std::span<const char> in, task_message& out) {
  return read_root<schema::TaskSpec>(
    "TaskSpec", in, [&](schema::TaskSpec::Reader r) -> std::string {
      out.task_id = r.getTaskId();
      out.function_name = r.getFunctionName().cStr();
      out.signature = r.getSignature().cStr();
      out.name = r.getName().cStr();
      get_run_fields(r, out);
      out.max_retries = r.getMaxRetries();
      out.attempt = r.getAttempt();
      out.actor_id = r.getActorId();
      out.layout_hash = r.getLayoutHash();
      out.item_window = r.getItemWindow();
      out.arg_refs.clear();
      std::vector<bool> referenced(out.args.size());
      for (auto a : r.getArgRefs()) {
        arg_ref x{a.getPosition(), a.getObjectId(), a.getNode(), a.getHost().cStr(),
                  a.getDataPort(), a.getSize(),     {}};
        for (auto c : a.getCopies())
          x.copies.push_back({c.getNode(), c.getHost().cStr(), c.getDataPort()});
        if (x.position >= out.args.size() || referenced[x.position])
          return "argument reference to position " + std::to_string(x.position) + " of "
                 + std::to_string(out.args.size()) + " arguments (out of range or twice)";
        if (!out.args[x.position].empty())
          return "argument " + std::to_string(x.position) + " is both inline and referenced";
        referenced[x.position] = true;
        out.arg_refs.push_back(std::move(x));
      }
      if (out.function_name.empty())
        return "no function name";
      if (out.max_retries < -1)
        return "max_retries " + std::to_string(out.max_retries) + " (at least -1)";
      return check_resources(out.demand.cpus, out.demand.custom);
    });
}

bytes encode_batch(const std::vector<bytes>& items) {
  return build<schema::Batch>(
    [&](schema::Batch::Builder b) {
      set_args(b.initItems(static_cast<unsigned>(items.size())), items);
    },
    blobs_bytes(items));
}

std::string decode_batch(std::span<const char> in, std::vector<bytes>& out) {
  return read("Batch", in, [&](capnp::MessageReader& reader) -> std::string {
    out = get_args(reader.getRoot<schema::Batch>().getItems());
    return {};
  });
}

} // namespace manta::detail::wire
