#include "actors/cluster_client_internal.hpp"

#include "actors/cluster_atoms.hpp"
#include "actors/cluster_actors.hpp"
#include "actors/token_gate.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/store/lent_handles.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/cluster/node_loss.hpp"
#include "manta/sched/stream_items.hpp"
#include "manta/sched/task_end.hpp"
#include "manta/net/transport.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <cstdio>

namespace manta::actors {

namespace {

using namespace detail;

} // namespace

// -- membership and failures ---------------------------------------------------

namespace {

/// The losses of nodes while `p` was placed on them that were deaths, or
/// may be (`undecided`: the driver still reconnects to that node), and
/// not cut connections of nodes that came back.
struct failures {
  int deaths = 0;
  int undecided = 0;
};
failures node_failures(const cluster_client_state& st, const placed_task& p) {
  failures n;
  for (auto& [node, loss] : p.node_losses) {
    if (st.nodes.was_cut(loss))
      continue;
    ++(st.nodes.undecided(node, loss) ? n.undecided : n.deaths);
  }
  return n;
}

std::string node_died_message(const cluster_client_state& st, const placed_task& p, uint64_t id) {
  std::string nodes;
  int times = 0;
  for (auto& [node, loss] : p.node_losses) {
    if (st.nodes.was_cut(loss))
      continue;
    nodes += nodes.empty() ? "" : ", then ";
    nodes += "node-" + std::to_string(node);
    ++times;
  }
  auto& t = *p.task;
  return "task '" + t.name() + "' (object " + to_string(object_id{id}) + ") was running (or "
         + "queued) on a node when that node died, " + std::to_string(times) + " times (" + nodes
         + "): it may be what kills nodes (out of memory? a crash?), "
         + "so it is not retried on another node. Run it alone to see, make it use less "
         + "memory, or raise the bound with .max_node_failures(n) (now "
         + std::to_string(p.max_node_failures) + ") if nodes die for other reasons";
}

/// What becomes of placed task `id`, a node lost under it: the rule the
/// simulator shares (node_loss.hpp). A loss the driver cannot tell from a
/// death yet (it still reconnects to that node) counts as one, unless the
/// task would live without it: then the verdict waits until the node is
/// back (a cut) or known gone (`reconnect_ended`), rather than fail a task
/// as a node killer because a network cut two of its nodes.
void judge_loss(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto& p = *st.tasks.find(id);
  auto [deaths, undecided] = node_failures(st, p);
  auto verdict = after_node_loss(deaths + undecided, p.max_node_failures, p.dispatches,
                                 p.max_retries);
  if (verdict == node_loss_verdict::too_many_node_failures && undecided > 0
      && after_node_loss(deaths, p.max_node_failures, p.dispatches, p.max_retries)
           == node_loss_verdict::retry) {
    st.tasks.await_verdict(id);
    return;
  }
  if (verdict == node_loss_verdict::too_many_node_failures) {
    auto lost_task = std::move(p);
    st.tasks.erase(id);
    end_task(*lost_task.task,
             std::make_exception_ptr(node_died_error(node_died_message(st, lost_task, id))));
  } else if (verdict == node_loss_verdict::retry) {
    place_or_wait(self, id);
  } else {
    auto lost_task = std::move(p);
    st.tasks.erase(id);
    auto index = lost_task.node_losses.back().first;
    fail_placed(self, id, lost_task,
                "was lost: node-" + std::to_string(index) + " died while running it and its "
                  + std::to_string(lost_task.max_retries) + " retries are used up");
  }
}

} // namespace

void lost_before_booked(self_ptr self, uint64_t id, uint16_t index) {
  auto* p = self->state.tasks.find(id);
  if (p == nullptr)
    return;
  p->node = 0;
  if (auto loss = self->state.nodes.last_loss(index); loss != 0)
    p->node_losses.emplace_back(index, loss);
  judge_loss(self, id);
}

void node_lost(self_ptr self, uint16_t index, const std::string& why) {
  auto& st = self->state;
  auto* n = st.nodes.find(index);
  if (n == nullptr)
    return;
  st.bundles->node_lost(index, why); // before its tasks go elsewhere
  st.lanes.drop(index);
  if (n->manager) {
    // The large items this driver's actors streamed to it through lent
    // handles: nothing can read them any more.
    detail::lent_items_node_gone(n->manager.node());
    st.specs.drop(n->manager);
  }
  auto loss = st.nodes.lose(index);
  self->send(st.directory, node_lost_atom::value, index); // its copies are gone with it
  detail::lent_node_gone(index); // and the handles it held of this driver's actors
  // Tasks in flight there run again elsewhere while retries last, unless
  // nodes died under them too often; rebuilds in flight there start over
  // (while the object's retries last).
  for (auto id : st.tasks.placed_on(index)) {
    auto* there = st.tasks.find(id);
    if (there == nullptr)
      continue;
    auto& p = *there;
    // A lane's reader that claimed its answer first has sealed it: it
    // ended there (its CPUs went with the node).
    if (p.by_lane && !st.lanes.claim(id)) {
      st.tasks.erase(id);
      if (st.rebuilds.any_lineage())
        generator_run_ended(self, id, false, true, "");
      continue;
    }
    p.node = 0;
    if (p.task)
      p.node_losses.emplace_back(index, loss);
    if (p.rebuild) {
      st.tasks.erase(id);
      if (auto fetch_id = st.fetches.of(id); fetch_id != 0)
        rebuild(self, fetch_id);
      continue;
    }
    if (!p.task) {
      // A re-run of a generator task rebuilding lost items: another one
      // (while its retries last).
      st.tasks.erase(id);
      generator_run_ended(self, id, true, true, "");
      continue;
    }
    judge_loss(self, id);
  }
  // Fetches from there restart: the object is rebuilt from its lineage.
  for (auto fetch_id : st.fetches.reading_from(index))
    if (st.fetches.find(fetch_id) != nullptr)
      start_fetch(self, fetch_id);
  actors_lost(self, index, why);
  // Waiting work that nothing alive can run any more fails now.
  place_waiting(self); // and the lane door hears of the loss
}

namespace {

/// Makes `hdl` (the node manager of worker `index`, just connected) that
/// worker's: monitored, placed on, counted in the cluster's resources.
void attach(self_ptr self, uint16_t index, caf::actor hdl) {
  self->monitor(hdl);
  self->state.nodes.attached(index, std::move(hdl), std::chrono::steady_clock::now());
  start_lane(self, index);
  lane_door_publish(self);
}

/// Ends the cut of worker `index`, connecting the record the head sent
/// meanwhile, if any.
void end_cut(self_ptr self, uint16_t index) {
  if (auto rec = self->state.nodes.end_cut(index))
    connect(self, *rec);
}

} // namespace

void cut_off(self_ptr self, uint16_t index) {
  auto& st = self->state;
  auto* n = st.nodes.connected(index);
  if (n == nullptr)
    return;
  st.nodes.start_cut(index);
  disconnect(self, n->manager.node(), [self, index](const std::string& address) {
    // No connection was open: no down message to wait for.
    if (address.empty() && self->state.nodes.cutting(index))
      end_cut(self, index);
  });
}

bool cut_off_done(self_ptr self, const caf::actor_addr& source) {
  auto index = self->state.nodes.cut_by(source);
  if (!index)
    return false;
  end_cut(self, *index);
  return true;
}

void connect(self_ptr self, const wire::node_record& rec) {
  auto& st = self->state;
  if (st.nodes.find(rec.index) != nullptr)
    return;
  if (st.nodes.defer_while_cut(rec)) // connected once the old connection is gone
    return;
  if (st.nodes.update_reconnecting(rec)) {
    // Being reconnected already (the head lists it again, e.g. after this
    // driver joined it again): its reconnect loop connects, now. Connecting
    // here too would end that loop, and one failed try would lose the node.
    self->send(self, reconnect_atom::value, rec.index);
    return;
  }
  st.nodes.start_connecting(rec);
  auto mm = detail::cluster_middleman(self->system());
  auto index = rec.index;
  auto done = [self] {
    if (self->state.nodes.connect_finished()) {
      for (auto& rp : self->state.nodes.take_ready())
        rp.deliver(true);
      place_waiting(self);
    }
  };
  self->request(mm, cluster::connect_timeout, caf::connect_atom::value, rec.host, rec.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        auto& st = self->state;
        if (st.nodes.find(index) != nullptr && ptr)
          attach(self, index, caf::actor_cast<caf::actor>(std::move(ptr)));
        else if (st.nodes.find(index) != nullptr)
          st.nodes.not_connected(index);
        done();
        reconnect_ended(self); // actors waiting for a worker are placed
      },
      [=](caf::error& err) {
        // A first connection can fail where a later one works (its
        // handshake timed out on a loaded machine, seen right after this
        // driver joined a replaced head): the head lists the worker, so the
        // driver tries again as it does for a lost connection, until the
        // head says it left or `reconnect_window` passes.
        detail::log_line(log_level::warning,
                         "manta: cannot connect to worker node-%u: %s; trying again while "
                         "the head lists it\n",
                         unsigned{index},
                         connect_error(self->system(), err, rec.host, rec.port).c_str());
        self->state.nodes.connect_failed(rec, std::chrono::steady_clock::now());
        self->delayed_send(self, reconnect_delay, reconnect_atom::value, index);
        done();
        reconnect_ended(self);
      });
}

void reconnect_ended(self_ptr self) {
  // A node is back (its losses were cuts) or known gone (they were
  // deaths): the verdicts that waited for it.
  for (auto id : self->state.tasks.take_undecided())
    if (self->state.tasks.find(id) != nullptr)
      judge_loss(self, id);
  for (auto& req : self->state.actors.take_deferred())
    create_remote_actor(self, std::move(req));
  place_waiting(self);
}

namespace {

/// The next try to connect to a worker whose connection closed.
void schedule_reconnect(self_ptr self, uint16_t index) {
  auto& lost = *self->state.nodes.reconnecting(index);
  self->delayed_send(self, detail::next_reconnect_try(lost.attempts), reconnect_atom::value, index);
}

} // namespace

void connection_lost(self_ptr self, uint16_t index, const char* why,
                     std::chrono::milliseconds first_try) {
  auto& st = self->state;
  auto* n = st.nodes.find(index);
  if (n == nullptr)
    return;
  auto info = n->info;
  detail::log_line(log_level::warning,
                   "manta: the connection to node-%u (%s:%u) %s; its work goes elsewhere, and "
                   "the driver reconnects while the head lists it\n",
                   unsigned{index}, info.host.c_str(), unsigned{info.port}, why);
  // Known as reconnecting first: its work placed again below may wait for
  // it, and tasks only it fits wait for it meanwhile.
  st.nodes.start_reconnecting(info, std::chrono::steady_clock::now());
  node_lost(self, index, "was cut off: its connection " + std::string{why} + own_stall(self));
  self->delayed_send(self, first_try, reconnect_atom::value, index);
}

void reconnect(self_ptr self, uint16_t index) {
  auto& st = self->state;
  auto* i = st.nodes.reconnecting(index);
  if (i == nullptr || st.nodes.find(index) != nullptr)
    return; // the head said it left, or it is back
  auto& lost = *i;
  if (detail::reconnect_given_up(std::chrono::steady_clock::now() - lost.since)) {
    detail::log_line(
      log_level::error, "manta: gave up reconnecting to node-%u (%s:%u) after %d attempts\n",
      unsigned{index}, lost.info.host.c_str(), unsigned{lost.info.port}, lost.attempts);
    st.nodes.stop_reconnecting(index);
    reconnect_ended(self);
    return;
  }
  ++lost.attempts;
  auto mm = detail::cluster_middleman(self->system());
  self->request(mm, reconnect_timeout, caf::connect_atom::value, lost.info.host, lost.info.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        auto& st = self->state;
        auto* i = st.nodes.reconnecting(index);
        if (i == nullptr || st.nodes.find(index) != nullptr)
          return;
        if (!ptr) {
          schedule_reconnect(self, index);
          return;
        }
        detail::log_line(log_level::info, "manta: reconnected to node-%u after %d attempt(s)\n",
                         unsigned{index}, i->attempts);
        st.nodes.reconnected(index);
        attach(self, index, caf::actor_cast<caf::actor>(std::move(ptr)));
        reconnect_ended(self);
      },
      [=](caf::error&) {
        if (self->state.nodes.reconnecting(index) != nullptr)
          schedule_reconnect(self, index);
      });
}

const std::string& own_stall(self_ptr self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  auto gap = now - st.last_tick;
  if (gap > st.silence_limit + st.ping_interval) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(gap).count();
    st.stall_note = "; this driver did not run for " + std::to_string(ms)
                    + " ms (stopped, or starved of CPU), longer than the connection timeout of "
                    + std::to_string(st.silence_limit.count())
                    + " ms, so its peers closed its links";
    st.stall_seen = now;
  } else if (now - st.stall_seen > 2 * st.silence_limit) {
    st.stall_note.clear(); // losses from now on have other causes
  }
  return st.stall_note;
}

void heartbeat(self_ptr self) {
  free_copies_let_go(self);
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  if (now - st.last_tick > st.silence_limit + st.ping_interval) {
    detail::log_line(log_level::warning,
                     "manta: %s; it reconnects to its workers and restarts its actors "
                     "there (as their max_restarts allow)\n",
                     own_stall(self).c_str() + 2);
    // The silence was this process's own: the workers' is measured from
    // now, so that what they sent before closing (results waiting in the
    // socket buffers) is read first; a link they closed ends with its down
    // message.
    for (auto& [index, n] : st.nodes)
      n.last_heard = now;
  }
  expire_creates(self);
  std::vector<uint16_t> silent;
  for (auto& [index, n] : st.nodes) {
    if (!n.manager)
      continue;
    if (now - n.last_heard > st.silence_limit)
      silent.push_back(index);
    else // urgent, as its pong and this tick: see below
      self->send<caf::message_priority::high>(n.manager, ping_atom::value, st.link->token());
  }
  for (auto index : silent) {
    // Its connection may still be open (a partition, a frozen process):
    // closed here, so that a reconnect makes a new one instead of finding
    // this one. The first try waits half the timeout: by then the worker,
    // which heard nothing from here either, has closed its end too (CAF's
    // heartbeats), and takes the new connection as a new owner.
    auto peer = st.nodes.at(index).manager.node();
    auto why = "was silent for " + std::to_string(st.silence_limit.count())
               + " ms (the connection timeout) and is closed as broken";
    connection_lost(self, index, why.c_str(), detail::first_reconnect_try(true, st.silence_limit));
    disconnect(self, peer, [](const std::string&) {});
  }
  steal_for_idle(self); // this node's CPUs may have freed up since
  lanes_heartbeat(self, now);
  st.last_tick = now;
  // The tick, the pings and their pongs are urgent messages: CAF serves an
  // actor's urgent queue in every round, so a backlog of tasks in this
  // mailbox (a million submitted at once) or in the worker's does not delay
  // them, and a silence measures the link and the peer, not the queue (seen
  // as both workers "silent" while a driver placed a million tasks).
  self->delayed_send<caf::message_priority::high>(self, st.ping_interval, heartbeat_atom::value);
}

} // namespace manta::actors
