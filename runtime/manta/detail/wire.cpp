#include "manta/detail/wire.hpp"

#include "manta/detail/wire_reader.hpp"

#include "schemas/actor.capnp.h"
#include "schemas/node.capnp.h"
#include "schemas/object.capnp.h"
#include "schemas/task.capnp.h"

#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>

namespace manta::detail::wire {

namespace {

std::atomic<size_t> g_max_message_bytes{0}; // 0: not configured yet
std::atomic<uint64_t> g_traversal_factor{decode_limits{}.traversal_factor};

size_t max_message_bytes() noexcept {
  auto n = g_max_message_bytes.load(std::memory_order_relaxed);
  if (n != 0)
    return n;
  n = decode_limits{}.max_message_bytes;
  if (auto env = std::getenv("MANTA_MAX_MESSAGE_BYTES"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    auto v = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0' && v > 0)
      n = static_cast<size_t>(v);
  }
  g_max_message_bytes.store(n, std::memory_order_relaxed);
  return n;
}

/// Why `x` cannot be a resource amount, or empty.
std::string check_amount(const std::string& name, double x) {
  if (std::isfinite(x) && x >= 0)
    return {};
  return "resource '" + name + "' has amount " + std::to_string(x)
         + " (amounts are finite and non-negative)";
}


std::string check_node(const node_record& x) {
  if (!x.driver && (x.host.empty() || x.port == 0))
    return "worker node without a host and port to reach it";
  return check_resources(x.cpus, x.custom);
}

kj::ArrayPtr<const kj::byte> as_data(std::span<const char> s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

template <class Builder>
void set_texts(Builder&& list, const std::vector<std::string>& texts) {
  for (unsigned i = 0; i < texts.size(); ++i)
    list.set(i, texts[i]);
}

template <class Reader>
std::vector<std::string> get_texts(Reader&& list) {
  std::vector<std::string> out;
  for (auto t : list)
    out.emplace_back(t.cStr());
  return out;
}

template <class Builder>
void set_args(Builder&& list, const std::vector<bytes>& args) {
  for (unsigned i = 0; i < args.size(); ++i)
    list.set(i, as_data(args[i]));
}

template <class Reader>
std::vector<bytes> get_args(Reader&& list) {
  std::vector<bytes> out;
  out.reserve(list.size());
  for (auto a : list)
    out.emplace_back(reinterpret_cast<const char*>(a.begin()),
                     reinterpret_cast<const char*>(a.end()));
  return out;
}

void fill(schema::NodeInfo::Builder b, const node_record& x) {
  b.setIndex(x.index);
  b.setHost(x.host);
  b.setPort(x.port);
  b.setPid(x.pid);
  b.setNumCpus(x.cpus);
  set_resources(b.initResources(static_cast<unsigned>(x.custom.size())), x.custom);
  b.setRole(x.driver ? schema::NodeInfo::Role::DRIVER : schema::NodeInfo::Role::WORKER);
  b.setDataPort(x.data_port);
  b.setJobId(x.job_id);
  auto build = b.initBuild();
  build.setHash(x.build.hash);
  auto entries = build.initEntries(static_cast<unsigned>(x.build.entries.size()));
  for (unsigned i = 0; i < x.build.entries.size(); ++i) {
    auto& e = x.build.entries[i];
    entries[i].setKey(e.key);
    entries[i].setHash(e.hash);
    entries[i].setSignature(e.signature);
    auto parts = entries[i].initParts(static_cast<unsigned>(e.parts.size()));
    for (unsigned j = 0; j < e.parts.size(); ++j)
      parts.set(j, e.parts[j]);
  }
}

node_record read_node(schema::NodeInfo::Reader r) {
  node_record x;
  x.index = r.getIndex();
  x.host = r.getHost().cStr();
  x.port = r.getPort();
  x.pid = r.getPid();
  x.cpus = r.getNumCpus();
  x.custom = get_resources(r.getResources());
  x.driver = r.getRole() == schema::NodeInfo::Role::DRIVER;
  x.data_port = r.getDataPort();
  x.job_id = r.getJobId().cStr();
  auto build = r.getBuild();
  x.build.hash = build.getHash();
  for (auto e : build.getEntries()) {
    build_entry entry{e.getKey().cStr(), e.getHash(), e.getSignature().cStr(), {}};
    for (auto p : e.getParts())
      entry.parts.emplace_back(p.cStr());
    x.build.entries.push_back(std::move(entry));
  }
  return x;
}

} // namespace

std::string check_resources(double cpus, const resource_map& custom) {
  if (auto why = check_amount(cpu_resource, cpus); !why.empty())
    return why;
  for (auto& [name, amount] : custom) {
    if (name.empty())
      return "a resource has an empty name";
    if (auto why = check_amount(name, amount); !why.empty())
      return why;
  }
  return {};
}

decode_limits current_decode_limits() noexcept {
  return {max_message_bytes(), g_traversal_factor.load(std::memory_order_relaxed)};
}

void set_decode_limits(const decode_limits& x) noexcept {
  g_max_message_bytes.store(x.max_message_bytes == 0 ? 1 : x.max_message_bytes);
  g_traversal_factor.store(x.traversal_factor == 0 ? 1 : x.traversal_factor);
}

bytes encode(const task_message& x) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::TaskSpec>();
  b.setTaskId(x.task_id);
  b.setFunctionName(x.function_name);
  b.setSignature(x.signature);
  b.setName(x.name);
  set_args(b.initArgs(static_cast<unsigned>(x.args.size())), x.args);
  b.setNumCpus(x.demand.cpus);
  set_resources(b.initResources(static_cast<unsigned>(x.demand.custom.size())), x.demand.custom);
  b.setMaxRetries(x.max_retries);
  b.setRetryExceptions(x.retry_exceptions);
  b.setAttempt(x.attempt);
  b.setActorId(x.actor_id);
  b.setLayoutHash(x.layout_hash);
  set_texts(b.initRetryExceptionTypes(static_cast<unsigned>(x.retry_exception_types.size())),
            x.retry_exception_types);
  b.setJobId(x.job_id);
  set_texts(b.initCodeSearchPath(static_cast<unsigned>(x.code.size())), x.code);
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
  return flatten(msg);
}

std::string decode(std::span<const char> in, task_message& out) {
  return read("TaskSpec", in, [&](capnp::MessageReader& reader) -> std::string {
    auto r = reader.getRoot<schema::TaskSpec>();
    out.task_id = r.getTaskId();
    out.function_name = r.getFunctionName().cStr();
    out.signature = r.getSignature().cStr();
    out.name = r.getName().cStr();
    out.args = get_args(r.getArgs());
    out.demand.cpus = r.getNumCpus();
    out.demand.custom = get_resources(r.getResources());
    out.max_retries = r.getMaxRetries();
    out.retry_exceptions = r.getRetryExceptions();
    out.attempt = r.getAttempt();
    out.actor_id = r.getActorId();
    out.layout_hash = r.getLayoutHash();
    out.retry_exception_types = get_texts(r.getRetryExceptionTypes());
    out.job_id = r.getJobId().cStr();
    out.code = get_texts(r.getCodeSearchPath());
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

std::vector<std::string> schema_error_kinds() {
  std::vector<std::string> out;
  for (auto e : capnp::Schema::from<schema::ErrorKind>().getEnumerants())
    out.emplace_back(e.getProto().getName().cStr());
  return out;
}

bytes encode(const result_message& x) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::TaskResult>();
  b.setTaskId(x.task_id);
  b.setNode(x.node);
  switch (x.kind) {
    case result_message::inline_value:
      b.setInline(as_data(x.value));
      break;
    case result_message::stored:
      b.setStored(x.stored_size);
      break;
    case result_message::failure: {
      auto f = b.initFailure();
      f.setKind(static_cast<schema::ErrorKind>(x.error.kind));
      f.setTypeName(x.error.type_name);
      f.setMessage(x.error.message);
      f.setTaskName(x.error.task_name);
      f.setNode(x.error.node);
      break;
    }
  }
  return flatten(msg);
}

std::string decode(std::span<const char> in, result_message& out) {
  return read("TaskResult", in, [&](capnp::MessageReader& reader) -> std::string {
    auto r = reader.getRoot<schema::TaskResult>();
    out.task_id = r.getTaskId();
    out.node = r.getNode().cStr();
    switch (r.which()) {
      case schema::TaskResult::INLINE: {
        auto d = r.getInline();
        out.kind = result_message::inline_value;
        out.value.assign(reinterpret_cast<const char*>(d.begin()),
                         reinterpret_cast<const char*>(d.end()));
        break;
      }
      case schema::TaskResult::STORED:
        out.kind = result_message::stored;
        out.stored_size = r.getStored();
        break;
      case schema::TaskResult::FAILURE: {
        auto f = r.getFailure();
        out.kind = result_message::failure;
        out.error = {f.getTypeName().cStr(), f.getMessage().cStr(), f.getTaskName().cStr(),
                     f.getNode().cStr()};
        out.error.kind = read_kind(static_cast<uint16_t>(f.getKind()), out.error);
        break;
      }
      default:
        return "unknown result kind " + std::to_string(static_cast<unsigned>(r.which()));
    }
    return {};
  });
}

bytes encode(const node_record& x) {
  capnp::MallocMessageBuilder msg;
  fill(msg.initRoot<schema::NodeInfo>(), x);
  return flatten(msg);
}

std::string decode(std::span<const char> in, node_record& out) {
  return read("NodeInfo", in, [&](capnp::MessageReader& reader) {
    out = read_node(reader.getRoot<schema::NodeInfo>());
    return check_node(out);
  });
}

bytes encode(const cluster_view& x) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::ClusterView>();
  b.setYourIndex(x.your_index);
  b.setYourJob(x.your_job);
  auto nodes = b.initNodes(static_cast<unsigned>(x.nodes.size()));
  for (unsigned i = 0; i < x.nodes.size(); ++i)
    fill(nodes[i], x.nodes[i]);
  return flatten(msg);
}

std::string decode(std::span<const char> in, cluster_view& out) {
  return read("ClusterView", in, [&](capnp::MessageReader& reader) -> std::string {
    auto r = reader.getRoot<schema::ClusterView>();
    out.your_index = r.getYourIndex();
    out.your_job = r.getYourJob().cStr();
    out.nodes.clear();
    for (auto n : r.getNodes()) {
      out.nodes.push_back(read_node(n));
      if (auto why = check_node(out.nodes.back()); !why.empty())
        return "node " + std::to_string(out.nodes.size()) + ": " + why;
    }
    return {};
  });
}

bytes encode(const actor_message& x) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::ActorSpec>();
  b.setActorId(x.actor_id);
  b.setClassName(x.class_name);
  b.setConstructorKey(x.constructor_key);
  b.setName(x.name);
  set_args(b.initArgs(static_cast<unsigned>(x.args.size())), x.args);
  b.setNumCpus(x.demand.cpus);
  set_resources(b.initResources(static_cast<unsigned>(x.demand.custom.size())), x.demand.custom);
  b.setMaxRestarts(x.max_restarts);
  b.setMaxTaskRetries(x.max_task_retries);
  b.setMaxConcurrency(x.max_concurrency);
  b.setRestarts(x.restarts);
  b.setRetryExceptions(x.retry_exceptions);
  set_texts(b.initRetryExceptionTypes(static_cast<unsigned>(x.retry_exception_types.size())),
            x.retry_exception_types);
  b.setDetached(x.detached);
  b.setJobId(x.job_id);
  set_texts(b.initCodeSearchPath(static_cast<unsigned>(x.code.size())), x.code);
  return flatten(msg);
}

std::string decode(std::span<const char> in, actor_message& out) {
  return read("ActorSpec", in, [&](capnp::MessageReader& reader) -> std::string {
    auto r = reader.getRoot<schema::ActorSpec>();
    out.actor_id = r.getActorId();
    out.class_name = r.getClassName().cStr();
    out.constructor_key = r.getConstructorKey().cStr();
    out.name = r.getName().cStr();
    out.args = get_args(r.getArgs());
    out.demand.cpus = r.getNumCpus();
    out.demand.custom = get_resources(r.getResources());
    out.max_restarts = r.getMaxRestarts();
    out.max_task_retries = r.getMaxTaskRetries();
    out.max_concurrency = r.getMaxConcurrency();
    out.restarts = r.getRestarts();
    out.retry_exceptions = r.getRetryExceptions();
    out.retry_exception_types = get_texts(r.getRetryExceptionTypes());
    out.detached = r.getDetached();
    out.job_id = r.getJobId().cStr();
    out.code = get_texts(r.getCodeSearchPath());
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
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::ActorCreated>();
  b.setActorId(x.actor_id);
  b.setError(x.error);
  return flatten(msg);
}

std::string decode(std::span<const char> in, actor_created_message& out) {
  return read("ActorCreated", in, [&](capnp::MessageReader& reader) -> std::string {
    auto r = reader.getRoot<schema::ActorCreated>();
    out.actor_id = r.getActorId();
    out.error = r.getError().cStr();
    return {};
  });
}

bytes encode_batch(const std::vector<bytes>& items) {
  capnp::MallocMessageBuilder msg;
  set_args(msg.initRoot<schema::Batch>().initItems(static_cast<unsigned>(items.size())), items);
  return flatten(msg);
}

std::string decode_batch(std::span<const char> in, std::vector<bytes>& out) {
  return read("Batch", in, [&](capnp::MessageReader& reader) -> std::string {
    out = get_args(reader.getRoot<schema::Batch>().getItems());
    return {};
  });
}

bytes encode(const log_batch& x) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::LogBatch>();
  b.setNode(x.node);
  b.setDropped(x.dropped);
  auto lines = b.initLines(static_cast<unsigned>(x.lines.size()));
  for (unsigned i = 0; i < x.lines.size(); ++i) {
    lines[i].setTaskId(x.lines[i].task_id);
    lines[i].setToStderr(x.lines[i].to_stderr);
    lines[i].setText(capnp::Text::Reader{x.lines[i].text.data(), x.lines[i].text.size()});
  }
  return flatten(msg);
}

std::string decode(std::span<const char> in, log_batch& out) {
  return read("LogBatch", in, [&](capnp::MessageReader& reader) -> std::string {
    auto r = reader.getRoot<schema::LogBatch>();
    out.node = r.getNode().cStr();
    out.dropped = r.getDropped();
    out.lines.clear();
    for (auto l : r.getLines()) {
      auto text = l.getText();
      out.lines.push_back({l.getTaskId(), l.getToStderr(), {text.begin(), text.size()}});
    }
    if (out.node.empty())
      return "no node name";
    return {};
  });
}

bytes encode(const copy_message& x) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::ObjectCopy>();
  b.setObjectId(x.object_id);
  b.setSize(x.size);
  b.setHeld(x.held);
  return flatten(msg);
}

std::string decode(std::span<const char> in, copy_message& out) {
  return read("ObjectCopy", in, [&](capnp::MessageReader& reader) -> std::string {
    auto r = reader.getRoot<schema::ObjectCopy>();
    out.object_id = r.getObjectId();
    out.size = r.getSize();
    out.held = r.getHeld();
    if (out.object_id == 0)
      return "no object id";
    return {};
  });
}

bytes encode_chunk(uint64_t offset, std::span<const char> data) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::ObjectChunk>();
  b.setOffset(offset);
  b.setData(as_data(data));
  return flatten(msg);
}

std::string append_chunk(std::span<const char> in, bytes& out) {
  return read("ObjectChunk", in, [&](capnp::MessageReader& reader) -> std::string {
    auto r = reader.getRoot<schema::ObjectChunk>();
    if (r.getOffset() != out.size())
      return "chunk at offset " + std::to_string(r.getOffset()) + ", expected "
             + std::to_string(out.size());
    auto d = r.getData();
    out.insert(out.end(), reinterpret_cast<const char*>(d.begin()),
               reinterpret_cast<const char*>(d.end()));
    return {};
  });
}

} // namespace manta::detail::wire
