#include "manta/detail/wire.hpp"

#include "manta/detail/wire_reader.hpp"

#include "schemas/node.capnp.h"

namespace manta::detail::wire {

// schema::NodeInfo and schema::ClusterView: the members of a cluster.

namespace {


std::string check_node(const node_record& x) {
  if (!x.driver && (x.host.empty() || x.port == 0))
    return "worker node without a host and port to reach it";
  return check_resources(x.cpus, x.custom);
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
  return build<schema::ClusterView>([&](schema::ClusterView::Builder b) {
    b.setYourIndex(x.your_index);
    b.setYourJob(x.your_job);
    auto nodes = b.initNodes(static_cast<unsigned>(x.nodes.size()));
    for (unsigned i = 0; i < x.nodes.size(); ++i)
      fill(nodes[i], x.nodes[i]);
  });
}

std::string decode(std::span<const char> in, cluster_view& out) {
  return read_root<schema::ClusterView>(
    "ClusterView", in, [&](schema::ClusterView::Reader r) -> std::string {
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

} // namespace manta::detail::wire
