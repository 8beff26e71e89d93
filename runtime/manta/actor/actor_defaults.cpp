#include "manta/actor/actor_defaults.hpp"

#include "manta/actor/actor_anchor.hpp"

namespace manta::detail {

namespace {

// Written by init and shutdown only, which no task or actor runs across.
std::string& ns_slot() {
  static auto* ns = new std::string{"default"}; // never destroyed: read at exit
  return *ns;
}

actor_lifetime lifetime_slot = actor_lifetime::non_detached;

} // namespace

void set_actor_defaults(const std::string& ns, actor_lifetime lifetime) {
  if (!ns.empty())
    check_actor_name(ns, "namespace", "init_options::ns");
  ns_slot() = ns.empty() ? std::string{"default"} : ns;
  lifetime_slot = lifetime;
}

void reset_actor_defaults() noexcept {
  ns_slot() = "default";
  lifetime_slot = actor_lifetime::non_detached;
}

const std::string& job_namespace() noexcept {
  return ns_slot();
}

actor_lifetime default_actor_lifetime() noexcept {
  return lifetime_slot;
}

void apply_actor_defaults(actor_options& opts) {
  if (opts.ns.empty())
    opts.ns = job_namespace();
  // An anonymous actor stays non-detached: detached, nothing could find or
  // kill it again.
  if (!opts.lifetime_given && !opts.name.empty())
    opts.detached = lifetime_slot == actor_lifetime::detached;
}

} // namespace manta::detail
