#include "actors/cluster_client_internal.hpp"

#include "actors/cluster_atoms.hpp"
#include "actors/node_manager.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/cluster/object_fetch.hpp"
#include "manta/cluster/object_loss.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>

namespace manta::actors {

namespace {

using namespace detail;

} // namespace

// -- fetching objects ----------------------------------------------------------

namespace {

/// Chunk requests kept in flight per fetch.
constexpr int fetch_window = 2;

void request_chunks(self_ptr self, uint64_t fetch_id) {
  auto& op = self->state.fetches.at(fetch_id);
  auto& n = self->state.nodes.at(op.node);
  uint64_t size = op.obj->encoded_size;
  for (int k = 0; k < fetch_window && op.requested < size; ++k) {
    auto len = std::min<uint64_t>(max_chunk_bytes, size - op.requested);
    self->send(n.manager, fetch_atom::value, self->state.link->token(), fetch_id,
               held_id(self, op.obj->id.value()), op.requested, len);
    op.requested += len;
  }
}

} // namespace

remote_ptr held_result(self_ptr self, placed_task& p, uint64_t size) {
  auto& t = *p.task;
  auto obj = std::make_shared<remote_object>(t.result->id(), p.node, size, std::move(p.spec),
                                             p.demand, p.max_retries);
  std::vector<remote_object::kept_argument> kept;
  uint64_t pinned = 0;
  for (auto& dep : t.deps) {
    auto& remote = dep->remote();
    bool away = remote && !dep->resident();
    auto id = away ? held_id(self, remote->id.value()) : dep->id().value();
    auto read = [id](auto& r) { return r.first == id; };
    auto same = [id](auto& a) { return a.id == id; };
    if (std::none_of(p.reads.begin(), p.reads.end(), read)
        || std::any_of(kept.begin(), kept.end(), same))
      continue; // sent inline (it cannot be lost), or counted already
    pinned += away ? remote->encoded_size.load() + remote->pinned_bytes : dep->size_bytes();
    kept.push_back({id, dep});
  }
  if (!kept.empty() && keeps_arguments(p.max_retries, pinned)) {
    obj->arguments = std::move(kept);
    obj->pinned_bytes = pinned;
  }
  return obj;
}

namespace {

/// A rebuild's TaskSpec being brought up to date: its ArgRefs name the
/// arguments' holders now, and a lost argument is rebuilt first and sent
/// inline.
struct rebuild_prep {
  wire::task_message msg;
  /// Lost arguments rebuilt and fetched here, by position: sent inline.
  std::vector<std::pair<uint32_t, bytes_t>> fetched;
  /// Arguments still being fetched, plus one while they are looked at.
  size_t missing = 1;
  std::string failure;
};

/// Places the rebuild of the object fetch `fetch_id` waits for, with the
/// spec `prep` made (or fails the fetch with why an argument is lost).
void place_rebuild(self_ptr self, uint64_t fetch_id, uint32_t attempt, rebuild_prep& prep) {
  auto& st = self->state;
  auto* op = st.fetches.find(fetch_id);
  if (op == nullptr || op->attempt != attempt)
    return;
  if (!prep.failure.empty()) {
    fail_fetch(self, fetch_id, prep.failure);
    return;
  }
  auto& refs = prep.msg.arg_refs;
  for (auto& [position, data] : prep.fetched) {
    refs.erase(std::remove_if(refs.begin(), refs.end(),
                              [position = position](auto& a) { return a.position == position; }),
               refs.end());
    if (position < prep.msg.args.size())
      prep.msg.args[position] = std::move(data);
  }
  auto& obj = *op->obj;
  auto id = obj.id.value();
  auto& p = st.tasks.record(id);
  p.rebuild = op->obj;
  p.spec = wire::encode(prep.msg);
  p.demand = obj.demand;
  p.max_retries = 0;
  place_or_wait(self, id);
}

} // namespace

void rebuild(self_ptr self, uint64_t fetch_id) {
  auto& st = self->state;
  auto& op = st.fetches.at(fetch_id);
  auto& obj = *op.obj;
  // The rule the simulator shares (object_loss.hpp).
  auto verdict = after_object_loss(!obj.lineage.empty(), obj.retries_left);
  if (verdict == object_loss_verdict::no_lineage) {
    // A generator task's large item is rebuilt by re-running the task.
    if (rebuild_item(self, fetch_id))
      return;
    // An actor call's large result, or a large item of an actor's generator
    // method: no task of this node made it, so nothing re-runs to rebuild it
    // (Ray does not re-run actor methods either).
    fail_fetch(self, fetch_id,
               "node-" + std::to_string(obj.node.load())
                 + ", which held it, died before it was read; it has no "
                   "lineage to rebuild it from (an actor call's results and "
                   "the items an actor's streaming generator method yields "
                   "are not re-run)");
    return;
  }
  if (verdict == object_loss_verdict::retries_used_up) {
    fail_fetch(self, fetch_id,
               "its node (node-" + std::to_string(obj.node.load())
                 + ") died and its task has no retries left to rebuild it");
    return;
  }
  --obj.retries_left;
  op.node = 0;
  op.buffer.clear();
  op.requested = 0;
  ++op.attempt; // answers to reads before the rebuild are dropped
  auto attempt = op.attempt;
  auto prep = std::make_shared<rebuild_prep>();
  if (auto err = wire::decode(obj.lineage, prep->msg); !err.empty()) {
    fail_fetch(self, fetch_id, "its lineage cannot be read: " + err);
    return;
  }
  auto done = [self, fetch_id, attempt, prep] {
    if (--prep->missing == 0)
      place_rebuild(self, fetch_id, attempt, *prep);
  };
  // Its arguments read by reference, where they are now (a copy, or a new
  // home after their own rebuild); one lost too, and kept alive for this
  // (keeps_arguments), is rebuilt first (recursively, each within its own
  // retries) and sent inline. One not kept is read where it was: if it is
  // gone, the rebuild fails as a worker's read of it does.
  auto& refs = prep->msg.arg_refs;
  for (size_t k = 0; k < refs.size(); ++k) {
    auto& r = refs[k];
    auto kept = std::find_if(obj.arguments.begin(), obj.arguments.end(),
                             [&](auto& a) { return a.id == r.object_id; });
    if (kept == obj.arguments.end())
      continue;
    auto& slot = *kept->slot;
    bool away = slot.remote() && !slot.resident();
    auto holders = holders_of(self, r.object_id,
                              away ? slot.remote()->node.load() : st.link->index());
    if (!holders.empty()) {
      auto first = holder_info(self, holders.front());
      r.node = first.node;
      r.host = first.host;
      r.data_port = first.data_port;
      r.copies.clear();
      for (size_t h = 1; h < holders.size(); ++h)
        r.copies.push_back(holder_info(self, holders[h]));
      continue;
    }
    if (!away)
      continue;
    ++prep->missing;
    auto position = r.position;
    fetch(self, slot.remote(),
          [prep, position, done, task = prep->msg.name](const std::string& err, bytes_t& data) {
            if (!err.empty()) {
              if (prep->failure.empty())
                prep->failure = "it could not be rebuilt: argument " + std::to_string(position + 1)
                                + " of its task '" + task + "' is lost: " + err;
            } else {
              prep->fetched.emplace_back(position, std::move(data));
            }
            done();
          });
  }
  done();
}

namespace {

/// Reads the object over the raw data path of its holders (several at
/// once) on the process's fetch loop; the bytes (or why not) come back as
/// a `fetched` message.
void fetch_raw(self_ptr self, uint64_t fetch_id, const std::vector<uint16_t>& holders) {
  auto& op = self->state.fetches.at(fetch_id);
  std::vector<object_source> sources;
  for (auto node : holders) {
    auto h = holder_info(self, node);
    sources.push_back({h.host, h.data_port});
  }
  auto data = std::make_shared<bytes_t>();
  fetch_object_async(std::move(sources), self->state.link->token(),
                     held_id(self, op.obj->id.value()), op.obj->encoded_size.load(), data,
                     [gate = self->state.gate, me = caf::actor{self}, data, fetch_id,
                      attempt = op.attempt](std::string err) {
                       std::lock_guard<std::mutex> guard{gate->mtx};
                       if (gate->open)
                         caf::anon_send(me, fetched_atom::value, fetch_id, attempt, std::move(err),
                                        std::move(*data));
                     });
}

} // namespace

namespace {

/// Tells the borrowers waiting on fetch `fetch_id` to learn where the
/// object is (`located`) its live holder, if it has one now. True if
/// nobody waits for its bytes: the fetch is over then.
bool answer_located(self_ptr self, uint64_t fetch_id) {
  auto& st = self->state;
  auto& op = st.fetches.at(fetch_id);
  if (op.located.empty())
    return false;
  auto holders = holders_of(self, held_id(self, op.obj->id.value()), op.obj->node.load());
  if (holders.empty())
    return false; // told after a rebuild, or why not
  auto at = holder_info(self, holders.front());
  auto located = std::move(op.located);
  op.located.clear();
  bool only = op.done.empty();
  if (only)
    st.fetches.take(fetch_id);
  for (auto& cb : located)
    cb({}, &at, nullptr);
  return only;
}

} // namespace

void start_fetch(self_ptr self, uint64_t fetch_id) {
  auto& st = self->state;
  auto& op = st.fetches.at(fetch_id);
  ++op.attempt;
  uint16_t node = op.obj->node;
  if (st.nodes.connected(node) == nullptr) {
    auto copies = holders_of(self, held_id(self, op.obj->id.value()), op.obj->node);
    if (copies.empty() || st.nodes.find(copies.front()) == nullptr) {
      rebuild(self, fetch_id);
      return;
    }
    node = copies.front();
  }
  op.node = node;
  op.buffer.clear();
  op.requested = 0;
  if (op.obj->encoded_size == 0) {
    complete_fetch(self, fetch_id, op.buffer);
    return;
  }
  if (answer_located(self, fetch_id))
    return; // only borrowers asked where it is
  if (auto holders = holders_of(self, held_id(self, op.obj->id.value()), op.node);
      !holders.empty()) {
    fetch_raw(self, fetch_id, holders);
    return;
  }
  op.buffer.reserve(op.obj->encoded_size);
  request_chunks(self, fetch_id);
}

void on_fetched(self_ptr self, uint64_t fetch_id, uint32_t attempt, const std::string& err,
                bytes_t& data) {
  auto* found = self->state.fetches.find(fetch_id);
  if (found == nullptr || found->attempt != attempt)
    return;
  if (err.empty()) {
    complete_fetch(self, fetch_id, data);
    return;
  }
  auto& op = *found;
  if (op.node != op.obj->node) {
    // Its home is gone and every copy failed: none is left, so the object
    // is rebuilt from its lineage (if its retries allow).
    auto held = held_id(self, op.obj->id.value());
    for (auto node : self->state.copies->erase(held))
      free_on(self, node, held);
    start_fetch(self, fetch_id);
    return;
  }
  detail::log_line(log_level::warning, "manta: %s; reading it through CAF instead\n", err.c_str());
  op.buffer.reserve(op.obj->encoded_size);
  request_chunks(self, fetch_id);
}

namespace {

/// The fetch of `obj` under way, or a new one (`fresh`), for one more
/// waiter.
} // namespace

void fetch(self_ptr self, const remote_ptr& obj, fetch_callback cb) {
  auto [fetch_id, fresh] = self->state.fetches.open(obj);
  self->state.fetches.at(fetch_id).done.push_back(std::move(cb));
  if (fresh)
    start_fetch(self, fetch_id);
}

void locate(self_ptr self, const remote_ptr& obj, locate_callback cb) {
  auto [fetch_id, fresh] = self->state.fetches.open(obj);
  auto& op = self->state.fetches.at(fetch_id);
  op.located.push_back(std::move(cb));
  // A fetch under way answers now if a live node holds the object; one
  // waiting for a rebuild answers when the rebuild's result is kept
  // somewhere (refetch).
  if (fresh)
    start_fetch(self, fetch_id);
  else if (op.node != 0)
    answer_located(self, fetch_id);
}

void refetch(self_ptr self, uint64_t fetch_id) {
  auto op = self->state.fetches.take(fetch_id);
  for (auto& cb : op.done)
    fetch(self, op.obj, std::move(cb));
  for (auto& cb : op.located)
    locate(self, op.obj, std::move(cb));
}

namespace {

void finish_fetch(self_ptr self, uint64_t fetch_id, const std::string& err, bytes_t& in) {
  auto& st = self->state;
  if (st.fetches.find(fetch_id) == nullptr)
    return;
  auto data = std::move(in); // `in` may be the op's own buffer
  auto op = st.fetches.take(fetch_id);
  // Borrowers asking where it is: the bytes themselves if they came back
  // inline from a rebuild (nowhere else holds them; an inline result is
  // small), its live holder if it was read from one, or why it is lost.
  if (!op.located.empty()) {
    auto holders = err.empty()
                     ? holders_of(self, held_id(self, op.obj->id.value()), op.obj->node.load())
                     : std::vector<uint16_t>{};
    std::optional<wire::holder> at;
    if (!holders.empty())
      at = holder_info(self, holders.front());
    for (auto& cb : op.located) {
      if (!err.empty())
        cb(err, nullptr, nullptr);
      else if (at)
        cb({}, &*at, nullptr);
      else if (data.size() <= inline_result_limit)
        cb({}, nullptr, &data);
      else
        cb("its holder left while it was read here", nullptr, nullptr);
    }
  }
  for (size_t k = 0; k < op.done.size(); ++k) {
    if (k + 1 == op.done.size()) {
      op.done[k](err, data);
    } else {
      auto copy = data;
      op.done[k](err, copy);
    }
  }
}

} // namespace

void complete_fetch(self_ptr self, uint64_t fetch_id, bytes_t& data) {
  finish_fetch(self, fetch_id, {}, data);
}

void fail_fetch(self_ptr self, uint64_t fetch_id, const std::string& why) {
  bytes_t none;
  finish_fetch(self, fetch_id, why, none);
}

void on_chunk(self_ptr self, uint64_t fetch_id, const bytes_t& chunk) {
  auto& st = self->state;
  auto* found = st.fetches.find(fetch_id);
  if (found == nullptr)
    return;
  auto& op = *found;
  auto* n = st.nodes.find(op.node);
  if (n == nullptr || n->manager.address() != self->current_sender())
    return; // from a node this fetch no longer reads from
  if (auto err = wire::append_chunk(chunk, op.buffer); !err.empty()) {
    fail_fetch(self, fetch_id, "bad chunk: " + err);
    return;
  }
  if (op.buffer.size() >= op.obj->encoded_size)
    complete_fetch(self, fetch_id, op.buffer);
  else
    request_chunks(self, fetch_id);
}

// -- copies of this driver's objects ------------------------------------------

void free_on(self_ptr self, uint16_t node, uint64_t id) {
  if (auto* n = self->state.nodes.connected(node))
    self->send(n->manager, free_atom::value, self->state.link->token(), id);
}

void free_copies_let_go(self_ptr self) {
  for (auto& [id, nodes] : self->state.copies->sweep())
    for (auto node : nodes)
      free_on(self, node, id);
}

void on_copy(self_ptr self, uint16_t node, const bytes_t& bytes) {
  wire::copy_message m;
  if (auto err = wire::decode(bytes, m); !err.empty())
    return;
  auto& dir = self->state.directory;
  if (!m.held) {
    self->send(dir, copy_gone_atom::value, m.object_id, node);
    return;
  }
  self->request(dir, caf::infinite, copy_held_atom::value, m.object_id, node)
    .then([self, node, id = m.object_id](bool tracked) {
      if (!tracked)
        free_on(self, node, id); // let go of meanwhile
    });
}

} // namespace manta::actors
