#pragma once

#include "actors/task_lanes.hpp"
#include "manta/net/task_lane.hpp"
#include "manta/net/wire.hpp"
#include "manta/resources.hpp"
#include "manta/sched/task_spec.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace manta::actors {

/// The submitting thread's own way onto a task lane (MANTA_TASK_LANE=1;
/// made only with the lane on, shared by the cluster link and its
/// client). A lone plain task submitted on a driver goes to a worker
/// through the cluster client actor, and waking that actor is a thread
/// hand-off before the spec leaves. Through the door, the submitting
/// thread places the task itself, by the client's rule, and writes its
/// spec on the chosen worker's lane; the client books it afterwards
/// (`take_sent`, lane_submit.cpp), before it handles anything that could
/// concern it.
///
/// What the thread sees is what the client published (`publish`): every
/// connected worker with its CPUs, the CPUs the client holds there, and
/// its current lane, plus the tasks written through the door since.
/// Everything the thread does with it, from the choice to the end of the
/// write, runs under the door's write lock, which the client takes to take
/// the written tasks: so the client never books a task whose write is
/// still under way (a cancel or a resend of it cannot overtake its spec),
/// and never misses one written before it looks. The task is entered in
/// the door before its write (under the state lock, which no write holds),
/// so a reader that reads its answer at once finds it there (`answered`).
class lane_door {
public:
  /// One connected worker, as the client last published it.
  struct node {
    uint16_t index = 0;
    double cpus = 0;
    /// The CPUs the client's books hold there (`remote_node::busy_cpus`),
    /// plus those of the tasks written through the door since.
    double busy = 0;
    /// Its current lane (null if none is up or it is worn) and that
    /// lane's key.
    std::shared_ptr<detail::task_lane::client> lane;
    uint64_t key = 0;
  };

  /// A task whose spec a submitting thread wrote, not yet booked by the
  /// client.
  struct sent {
    detail::task_ptr task;
    uint64_t id = 0;
    uint16_t node = 0;
    uint64_t key = 0;
    detail::wire::bytes spec;
  };

  /// The client, once it runs, lends the door its lanes' claims table
  /// (made by the link before the client, which the submitting threads
  /// reach first).
  void adopt(std::shared_ptr<lane_claims> claims);

  /// On the submitting thread: places the ready task `t` (default
  /// strategy, not in a group, CPUs only, no object argument, no ref
  /// inside its arguments, not a generator) on the least-loaded worker
  /// with room, as the client would (node_choice.hpp's default: this
  /// node's pool was tried first, nothing to prefer), and writes its spec
  /// on that worker's lane, its entry in the claims table first. False if
  /// the task does not qualify, no worker has room, the chosen worker has
  /// no lane up, or the write failed: the caller then hands the task to
  /// the client as usual (nothing of this try remains).
  bool submit(const detail::task_ptr& t, const std::string& job_id);

  /// On a lane's reader, which claimed the answer of task `id` (sent to
  /// worker `node`, holding `cpus` there) and seals it: true if the client
  /// has not taken the task from the door yet (then it never will: nothing
  /// of it is booked, so there are no books to do and the client need not
  /// hear of it). Else its CPUs count as free in the door's view until the
  /// client's books say so too (`settled`), and false: the reader tells the
  /// client as usual (`lane_sealed_atom`).
  bool answered(uint64_t id, uint16_t node, double cpus);

  /// On the client: the books of task `id`, whose answer a reader sealed,
  /// are done (`lane_sealed`).
  void settled(uint64_t id);

  /// On the client: the tasks written since it last looked (oldest
  /// first), taken out.
  std::vector<sent> take_sent();

  /// On the client: the workers as its books stand now (ascending index),
  /// for the next choices; the tasks still waiting in `take_sent` are
  /// added to their worker's `busy`, those sealed by a reader and not
  /// settled yet taken off.
  void publish(std::vector<node> nodes);

  /// The client ends: no task goes through the door any more.
  void close();

private:
  /// Held by a submitting thread from its choice to the end of its write,
  /// and by the client while it takes the written tasks.
  std::mutex write_mtx_;
  /// The door's state below; never held across a write (a lane's reader
  /// takes it).
  std::mutex mtx_;
  std::shared_ptr<lane_claims> claims_;
  std::vector<node> nodes_;
  std::vector<sent> sent_;
  /// Tasks a reader sealed whose books the client has not done yet: their
  /// node and CPUs (`answered`).
  std::unordered_map<uint64_t, std::pair<uint16_t, double>> sealed_;
  bool closed_ = false;
};


} // namespace manta::actors
