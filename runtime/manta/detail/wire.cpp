#include "manta/detail/wire.hpp"

#include "schemas/node.capnp.h"
#include "schemas/object.capnp.h"
#include "schemas/task.capnp.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <limits>
#include <memory>

namespace manta::detail::wire {

namespace {

/// Objects of hundreds of MiB travel in these messages: lift Cap'n Proto's
/// default 64 MiB traversal limit (the bytes come from peers of the same
/// cluster, which is trusted, as everywhere in Manta).
capnp::ReaderOptions reader_options() {
  capnp::ReaderOptions opts;
  opts.traversalLimitInWords = std::numeric_limits<uint64_t>::max() / 16;
  return opts;
}

bytes flatten(capnp::MessageBuilder& msg) {
  auto words = capnp::messageToFlatArray(msg);
  auto chars = words.asChars();
  return bytes(chars.begin(), chars.end());
}

/// Reads one message from `in`, copying it first if it is not word-aligned.
template <class F>
std::string read(std::span<const char> in, F&& f) {
  if (in.size() % sizeof(capnp::word) != 0)
    return "message size " + std::to_string(in.size()) + " is not a multiple of 8";
  try {
    std::unique_ptr<capnp::word[]> copy;
    auto* data = reinterpret_cast<const capnp::word*>(in.data());
    if (reinterpret_cast<uintptr_t>(in.data()) % alignof(capnp::word) != 0) {
      copy.reset(new capnp::word[in.size() / sizeof(capnp::word)]);
      std::memcpy(copy.get(), in.data(), in.size());
      data = copy.get();
    }
    capnp::FlatArrayMessageReader reader{
      kj::arrayPtr(data, in.size() / sizeof(capnp::word)), reader_options()};
    f(reader);
    return {};
  } catch (const kj::Exception& e) {
    return std::string{"malformed message: "} + e.getDescription().cStr();
  }
}

template <class Builder>
void set_resources(Builder&& list, const resource_map& rs) {
  unsigned i = 0;
  for (auto& [name, amount] : rs) {
    list[i].setName(name);
    list[i].setAmount(amount);
    ++i;
  }
}

template <class Reader>
resource_map get_resources(Reader&& list) {
  resource_map out;
  for (auto r : list)
    out[r.getName().cStr()] = r.getAmount();
  return out;
}

kj::ArrayPtr<const kj::byte> as_data(std::span<const char> s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

void fill(schema::NodeInfo::Builder b, const node_record& x) {
  b.setIndex(x.index);
  b.setHost(x.host);
  b.setPort(x.port);
  b.setPid(x.pid);
  b.setNumCpus(x.cpus);
  set_resources(b.initResources(static_cast<unsigned>(x.custom.size())), x.custom);
  b.setRole(x.driver ? schema::NodeInfo::Role::DRIVER : schema::NodeInfo::Role::WORKER);
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
  return x;
}

} // namespace

bytes encode(const task_message& x) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::TaskSpec>();
  b.setTaskId(x.task_id);
  b.setFunctionName(x.function_name);
  b.setSignature(x.signature);
  b.setName(x.name);
  auto args = b.initArgs(static_cast<unsigned>(x.args.size()));
  for (unsigned i = 0; i < x.args.size(); ++i)
    args.set(i, as_data(x.args[i]));
  b.setNumCpus(x.demand.cpus);
  set_resources(b.initResources(static_cast<unsigned>(x.demand.custom.size())),
                x.demand.custom);
  b.setMaxRetries(x.max_retries);
  b.setRetryExceptions(x.retry_exceptions);
  b.setAttempt(x.attempt);
  return flatten(msg);
}

std::string decode(std::span<const char> in, task_message& out) {
  return read(in, [&](capnp::MessageReader& reader) {
    auto r = reader.getRoot<schema::TaskSpec>();
    out.task_id = r.getTaskId();
    out.function_name = r.getFunctionName().cStr();
    out.signature = r.getSignature().cStr();
    out.name = r.getName().cStr();
    out.args.clear();
    for (auto a : r.getArgs())
      out.args.emplace_back(reinterpret_cast<const char*>(a.begin()),
                            reinterpret_cast<const char*>(a.end()));
    out.demand.cpus = r.getNumCpus();
    out.demand.custom = get_resources(r.getResources());
    out.max_retries = r.getMaxRetries();
    out.retry_exceptions = r.getRetryExceptions();
    out.attempt = r.getAttempt();
  });
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
  return read(in, [&](capnp::MessageReader& reader) {
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
        out.error = {f.getTypeName().cStr(), f.getMessage().cStr(),
                     f.getTaskName().cStr(), f.getNode().cStr()};
        break;
      }
    }
  });
}

bytes encode(const node_record& x) {
  capnp::MallocMessageBuilder msg;
  fill(msg.initRoot<schema::NodeInfo>(), x);
  return flatten(msg);
}

std::string decode(std::span<const char> in, node_record& out) {
  return read(in, [&](capnp::MessageReader& reader) {
    out = read_node(reader.getRoot<schema::NodeInfo>());
  });
}

bytes encode(const cluster_view& x) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::ClusterView>();
  b.setYourIndex(x.your_index);
  auto nodes = b.initNodes(static_cast<unsigned>(x.nodes.size()));
  for (unsigned i = 0; i < x.nodes.size(); ++i)
    fill(nodes[i], x.nodes[i]);
  return flatten(msg);
}

std::string decode(std::span<const char> in, cluster_view& out) {
  return read(in, [&](capnp::MessageReader& reader) {
    auto r = reader.getRoot<schema::ClusterView>();
    out.your_index = r.getYourIndex();
    out.nodes.clear();
    for (auto n : r.getNodes())
      out.nodes.push_back(read_node(n));
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
  std::string mismatch;
  auto err = read(in, [&](capnp::MessageReader& reader) {
    auto r = reader.getRoot<schema::ObjectChunk>();
    if (r.getOffset() != out.size()) {
      mismatch = "chunk at offset " + std::to_string(r.getOffset()) + ", expected "
                 + std::to_string(out.size());
      return;
    }
    auto d = r.getData();
    out.insert(out.end(), reinterpret_cast<const char*>(d.begin()),
               reinterpret_cast<const char*>(d.end()));
  });
  return err.empty() ? mismatch : err;
}

} // namespace manta::detail::wire
