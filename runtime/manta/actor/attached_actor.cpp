#include "manta/actor/attached_actor.hpp"

#include "actors/actor_host.hpp"
#include "manta/actor_errors.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_directory.hpp"
#include "manta/actor/actor_registry.hpp"
#include "manta/actor/attached_actors.hpp"
#include "manta/actor/head_actors.hpp"
#include "manta/core/demangle.hpp"
#include "manta/core/runtime.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <map>
#include <mutex>

namespace manta::detail {

namespace {

constexpr std::chrono::seconds lookup_timeout{3};

} // namespace

std::shared_ptr<void> attach_ctor::construct() {
  // Never called: the core of an attached handle is remote, and
  // create_on_other_node attaches instead of constructing.
  throw error("an attached actor handle has nothing to construct");
}

anchor_ptr find_on_head(const std::type_info& cls, const std::string& name, const std::string& ns) {
  auto* rt = runtime::current();
  auto answer = rt == nullptr ? std::nullopt : ask_head_for_actor(ns, name, lookup_timeout);
  if (!answer)
    return nullptr;
  if (!answer->answered)
    throw actor_not_found_error("no live actor is named '" + name + "' in namespace '" + ns
                                + "' in this process, and the head did not answer within "
                                + std::to_string(lookup_timeout.count()) + " s");
  if (!answer->why.empty())
    throw actor_not_found_error("no live actor is named '" + name + "' in namespace '" + ns
                                + "' here or on the cluster's workers (" + answer->why
                                + "); create it with manta::actor<T>().name(\"" + name
                                + "\").namespace_(\"" + ns + "\").remote(...) first");
  auto& found = *answer;
  if (found.cls != demangle(cls.name()))
    throw actor_not_found_error("the actor named '" + name + "' in namespace '" + ns + "' is a "
                                + found.cls + ", not a " + demangle(cls.name())
                                + "; call manta::get_actor with its class");
  actor_options opts;
  opts.name = name;
  opts.ns = ns;
  const auto& info = lookup_actor_class(cls);
  auto core = std::make_shared<actor_core>(
    info, cls, std::move(opts), std::make_unique<attach_ctor>(found.node, found.actor_id),
    rt->pool(), /*remote=*/true, 0);
  auto anchor = std::make_shared<actor_anchor>(core);
  rt->actors().add(anchor);
  {
    auto& attached = rt->attached();
    std::lock_guard<std::mutex> guard{attached.mtx};
    std::erase_if(attached.by_core, [](auto& e) { return e.second.core.expired(); });
    attached.by_core[core.get()] = {core, found.node, found.actor_id};
  }
  core->start(rt->system().spawn<caf::hidden>(actors::actor_host, core));
  return anchor;
}

bool kill_attached(const actor_core& core) {
  auto* rt = runtime::live();
  if (rt == nullptr)
    return false; // after shutdown: none attached
  attached_actors::entry e;
  {
    auto& attached = rt->attached();
    std::lock_guard<std::mutex> guard{attached.mtx};
    auto i = attached.by_core.find(&core);
    if (i == attached.by_core.end() || i->second.core.lock().get() != &core)
      return false;
    e = i->second;
    attached.by_core.erase(i);
  }
  kill_head_actor(core.options().ns, core.options().name, e.node, e.id);
  return true;
}

} // namespace manta::detail
