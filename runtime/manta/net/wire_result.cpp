#include "manta/net/wire.hpp"

#include "manta/net/wire_reader.hpp"

#include "schemas/task.capnp.h"

#include <capnp/schema.h>

namespace manta::detail::wire {

// schema::TaskResult and its TaskFailure: what a node sends back, and the
// error kinds as the schema numbers them.

// Each kind's code is the schema's: error_kind.hpp and ErrorKind list the
// same enumerants in the same order.
#define MANTA_ERROR_KIND_CHECK(kind, schema_name, cls)                      \
  static_assert(static_cast<uint16_t>(schema::ErrorKind::schema_name)       \
                  == static_cast<uint16_t>(error_kind::kind),               \
                "error_kind::" #kind " and schema ErrorKind::" #schema_name \
                " have different codes");
MANTA_ERROR_KINDS(MANTA_ERROR_KIND_CHECK)
#undef MANTA_ERROR_KIND_CHECK

namespace {

/// The kind of a TaskFailure's code. A code this build does not know (a
/// newer or hostile peer) is not trusted to mean anything: the failure
/// becomes a plain manta::error whose text names the code, the node and
/// what the peer said, so the task still ends, with the cause in sight.
error_kind read_kind(uint16_t code, failure_message& f) {
  if (auto k = error_kind_from_code(code))
    return *k;
  f.message = (f.node.empty() ? std::string{"a peer"} : f.node) + " sent an error of kind "
              + std::to_string(code) + ", which this build does not know (codes 0 to "
              + std::to_string(error_kind_count - 1)
              + "; does every node run the same build of Manta?)"
              + (f.type_name.empty() ? "" : "; type " + f.type_name) + ": " + f.message;
  f.type_name.clear();
  return error_kind::generic;
}

} // namespace

template <class F>
void fields(F&& f, failure_message& x) {
  f(x.kind, MANTA_WIRE_FIELD(Kind)); // checked by read_kind
  f(x.type_name, MANTA_WIRE_FIELD(TypeName));
  f(x.message, MANTA_WIRE_FIELD(Message));
  f(x.task_name, MANTA_WIRE_FIELD(TaskName));
  f(x.node, MANTA_WIRE_FIELD(Node));
  f(x.retryable, MANTA_WIRE_FIELD(Retryable));
}

std::vector<std::string> schema_error_kinds() {
  std::vector<std::string> out;
  for (auto e : capnp::Schema::from<schema::ErrorKind>().getEnumerants())
    out.emplace_back(e.getProto().getName().cStr());
  return out;
}

bytes encode(const result_message& x) {
  return build<schema::TaskResult>(
    [&](schema::TaskResult::Builder b) {
      b.setTaskId(x.task_id);
      b.setNode(as_text(x.node));
      switch (x.kind) {
        case result_message::inline_value:
          b.setInline(as_data(x.value));
          break;
        case result_message::stored:
          b.setStored(x.stored_size);
          break;
        case result_message::failure:
          write_fields(b.initFailure(), x.error);
          break;
      }
    },
    x.value.size() + x.node.size()
      + (x.kind == result_message::failure ? x.error.message.size() : 0));
}

std::string decode(std::span<const char> in, result_message& out) {
  return read("TaskResult", in, [&](capnp::MessageReader& reader) -> std::string {
    auto r = reader.getRoot<schema::TaskResult>();
    out.task_id = r.getTaskId();
    auto node = r.getNode();
    out.node.assign(node.begin(), node.size());
    switch (r.which()) {
      case schema::TaskResult::INLINE: {
        auto d = r.getInline();
        out.kind = result_message::inline_value;
        out.value = view_in(in, reader, d); // no copy: read where it arrived
        break;
      }
      case schema::TaskResult::STORED:
        out.kind = result_message::stored;
        out.stored_size = r.getStored();
        break;
      case schema::TaskResult::FAILURE:
        out.kind = result_message::failure;
        if (auto why = read_fields(r.getFailure(), out.error); !why.empty())
          return "failure: " + why;
        out.error.kind = read_kind(static_cast<uint16_t>(out.error.kind), out.error);
        break;
      default:
        return "unknown result kind " + std::to_string(static_cast<unsigned>(r.which()));
    }
    return {};
  });
}

} // namespace manta::detail::wire
