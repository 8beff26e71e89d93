// Actors that owners on other nodes place on this node (node_manager.hpp):
// built from their class and constructor found by name, dropped when
// their owner kills them or is gone (but the detached ones).
#include "actors/cluster_atoms.hpp"
#include "actors/node_manager.hpp"
#include "manta/actor/actor_anchor.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_registry.hpp"
#include "manta/cluster/code_loader.hpp"
#include "manta/core/demangle.hpp"
#include "manta/core/job_id.hpp"
#include "manta/core/runtime.hpp"
#include "manta/net/wire.hpp"
#include "manta/object_id.hpp"

#include <caf/all.hpp>

#include <span>
#include <string>
#include <vector>

namespace manta::actors {

void drop_actor(node_manager_actor* self, uint64_t id) {
  auto a = self->state.actors.find(id);
  if (a == self->state.actors.end())
    return;
  auto anchor = std::move(a->second.anchor);
  self->state.actors.erase(a);
  detail::kill_actor(*anchor->core, true);
}

namespace {

void answer_created(node_manager_actor* self, const caf::actor& owner, uint64_t id,
                    std::string error) {
  detail::wire::actor_created_message m{id, std::move(error)};
  self->send(owner, actor_created_atom::value, self->state.token, detail::wire::encode(m));
}

} // namespace

void create_hosted_actor(node_manager_actor* self, const std::vector<char>& spec) {
  auto owner = caf::actor_cast<caf::actor>(self->current_sender());
  detail::wire::actor_message m;
  if (auto err = detail::wire::decode(spec, m); !err.empty())
    return answer_created(self, owner, 0, err);
  auto here = detail::runtime::node_name();
  std::string missing;
  auto* cls = detail::job_actor_class(m.code, m.class_name, here, missing);
  if (cls == nullptr)
    return answer_created(self, owner, m.actor_id, std::move(missing));
  auto make = detail::find_actor_ctor(*cls, m.constructor_key);
  if (make == nullptr)
    return answer_created(self, owner, m.actor_id,
                          "the binary on " + here + " has no constructor of " + m.class_name
                            + " taking (" + detail::demangle(m.constructor_key.c_str())
                            + "); do both nodes run the same binary (or does the job's "
                              "library call actor<T>().remote(...) with these types)?");
  if (auto a = self->state.actors.find(m.actor_id); a != self->state.actors.end()) {
    // Its owner restarts it here while the old instance lives on: the
    // owner's connection hung and was replaced before this end noticed, so
    // the owner counted the actor lost. The restart replaces it.
    if (a->second.owner != owner)
      return answer_created(self, owner, m.actor_id,
                            "an actor with this id lives here already, for another owner");
    drop_actor(self, m.actor_id);
  }
  try {
    std::vector<std::span<const char>> args(m.args.begin(), m.args.end());
    actor_options opts;
    opts.name = m.name;
    opts.ns = "manta.hosted." + to_string(object_id{m.actor_id}); // owners name actors
    opts.resources = m.demand;
    opts.max_restarts = m.max_restarts;
    opts.max_task_retries = m.max_task_retries;
    opts.retry_exceptions = m.retry_exceptions;
    opts.retry_exception_types = m.retry_exception_types;
    if (m.max_concurrency > 0)
      opts.max_concurrency = m.max_concurrency;
    detail::job_scope job{m.job_id}; // the actor's job is its owner's
    auto anchor = detail::create_actor(*cls->type, std::move(opts), make(args), m.restarts);
    self->state.actors[m.actor_id] = hosted_actor{owner, std::move(anchor), m.detached};
  } catch (const std::exception& e) {
    return answer_created(self, owner, m.actor_id, e.what());
  }
  watch_owner(self, owner, m.actor_id, m.job_id);
  answer_created(self, owner, m.actor_id, {});
}

} // namespace manta::actors
