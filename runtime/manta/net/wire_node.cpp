#include "manta/net/wire.hpp"

#include "manta/net/wire_reader.hpp"

#include "schemas/node.capnp.h"

namespace manta::detail::wire {

// schema::NodeInfo and schema::ClusterView: the members of a cluster.

/// A node's role in the schema's enum (a bool here).
struct role_access {
  template <class B>
  void write(B b, bool driver) const {
    b.setRole(driver ? schema::NodeInfo::Role::DRIVER : schema::NodeInfo::Role::WORKER);
  }
  template <class R>
  void read(R r, bool& driver) const {
    driver = r.getRole() == schema::NodeInfo::Role::DRIVER;
  }
};

template <class F>
void fields(F&& f, build_entry& x) {
  f(x.key, MANTA_WIRE_FIELD(Key));
  f(x.hash, MANTA_WIRE_FIELD(Hash));
  f(x.signature, MANTA_WIRE_FIELD(Signature));
  f(x.parts, MANTA_WIRE_FIELD(Parts));
}

template <class F>
void fields(F&& f, build_info& x) {
  f(x.hash, MANTA_WIRE_FIELD(Hash));
  f(x.entries, MANTA_WIRE_FIELD(Entries));
}

template <class F>
void fields(F&& f, node_record& x) {
  f(x.index, MANTA_WIRE_FIELD(Index));
  f(x.host, MANTA_WIRE_FIELD(Host));
  f(x.port, MANTA_WIRE_FIELD(Port));
  f(x.pid, MANTA_WIRE_FIELD(Pid));
  f(x.cpus, MANTA_WIRE_FIELD(NumCpus));
  f(x.custom, MANTA_WIRE_FIELD(Resources));
  f(x.driver, role_access{});
  f(x.data_port, MANTA_WIRE_FIELD(DataPort));
  f(x.job_id, MANTA_WIRE_FIELD(JobId));
  f(x.build, MANTA_WIRE_FIELD(Build));
}

template <class F>
void fields(F&& f, cluster_view& x) {
  f(x.your_index, MANTA_WIRE_FIELD(YourIndex));
  f(x.your_job, MANTA_WIRE_FIELD(YourJob));
  f(x.nodes, MANTA_WIRE_FIELD(Nodes));
}

namespace {

std::string check_node(const node_record& x) {
  if (!x.driver && (x.host.empty() || x.port == 0))
    return "worker node without a host and port to reach it";
  return check_resources(x.cpus, x.custom);
}

std::string check_view(const cluster_view& x) {
  for (size_t i = 0; i < x.nodes.size(); ++i)
    if (auto why = check_node(x.nodes[i]); !why.empty())
      return "node " + std::to_string(i + 1) + ": " + why;
  return {};
}

} // namespace

// A NodeInfo is built in capnp's own first segment (a large build
// fingerprint outgrows `build`'s room) and then flattened.
bytes encode(const node_record& x) {
  capnp::MallocMessageBuilder msg;
  write_fields(msg.initRoot<schema::NodeInfo>(), x);
  return flatten(msg);
}

std::string decode(std::span<const char> in, node_record& out) {
  return decode_fields<schema::NodeInfo>("NodeInfo", in, out, check_node);
}

bytes encode(const cluster_view& x) {
  return encode_fields<schema::ClusterView>(x);
}

std::string decode(std::span<const char> in, cluster_view& out) {
  return decode_fields<schema::ClusterView>("ClusterView", in, out, check_view);
}

} // namespace manta::detail::wire
