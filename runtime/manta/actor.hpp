#pragma once

#include "manta/actor_errors.hpp"
#include "manta/actor_options.hpp"
#include "manta/async.hpp"
#include "manta/actor/actor_anchor.hpp"
#include "manta/actor/actor_registry.hpp"
#include "manta/core/demangle.hpp"
#include "manta/store/lent_handles.hpp"
#include "manta/sched/task_args.hpp"
#include "manta/actor/typed_call.hpp"
#include "manta/generator.hpp"
#include "manta/num_returns.hpp"
#include "manta/object_ref.hpp"
#include "manta/placement_group.hpp"
#include "manta/retry_exceptions.hpp"


#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

/// Actors: stateful workers. A class marked with `MANTA_ACTOR` becomes an
/// actor with `manta::actor<T>().remote(ctor args...)`; its methods are
/// called with `handle.call(&T::method).remote(args...)`, each returning an
/// `object_ref` at once:
///
///     class counter {
///     public:
///       explicit counter(int start) : n_(start) {}
///       int incr(int by) { return n_ += by; }
///     private:
///       int n_;
///     };
///     MANTA_ACTOR(counter, &counter::incr);
///
///     auto c = manta::actor<counter>().name("c1").remote(10);
///     auto r = c.call(&counter::incr).remote(5);
///     int v = manta::get(r); // 15
///
/// Calls from one caller run in the order they were submitted, one at a
/// time unless `max_concurrency(n)` allows n at once (on separate threads).
/// Object arguments are waited for before the call runs. Methods run on the
/// node's worker threads and may block. An exception thrown by a method
/// fails only that call (`task_error`); the actor dies when its constructor
/// throws, when a method throws `actor_crash` or calls `exit_actor()`, or
/// when it is `kill`ed. A dead actor restarts (re-running its constructor
/// with the original arguments) while `max_restarts` allows; otherwise
/// every queued and later call fails with `actor_died_error`. An actor
/// whose handles are all gone finishes its queued calls and exits, unless
/// it is `lifetime_detached()`.
namespace manta {

/// A method of an actor, ready to be called with `.remote(args...)`.
template <class T, class M, class R, class... Ps>
class actor_method {
public:
  /// What `get` on the call's ref yields (`R`, or `V` for `async<V>`).
  using result_type = typename detail::call_result<R>::type;

  actor_method(std::shared_ptr<detail::actor_core> core, M m, const std::string& name)
    : core_(std::move(core)), m_(m), name_(&name) {} ///< Internal: made by `actor_handle::call`.

  /// Queues the call; returns at once with a ref to its result. Each
  /// argument is a value convertible to the parameter's type or an
  /// `object_ref` to one.
  ///
  /// For a streaming generator method (first parameter
  /// `generator_sink<T>&`, see generator.hpp) the arguments are the other
  /// parameters' and the result is an `object_ref_generator<T>`.
  template <class... As>
  auto remote(As&&... args) const {
    if constexpr (detail::generator_method<M>::value)
      return detail::generator_method<M>::submit_call(core_, m_, *name_, call_name_,
                                                      group_.empty() ? nullptr : &group_, window_,
                                                      std::forward<As>(args)...);
    else
      return queue_call(std::forward<As>(args)...);
  }

private:
  template <class... As>
  object_ref<result_type> queue_call(As&&... args) const {
    static_assert(sizeof...(As) == sizeof...(Ps),
                  "manta: call(&T::method).remote() got a different number of "
                  "arguments than the method has parameters");
    static_assert((detail::arg_compatible<Ps, As>() && ...),
                  "manta: an argument of call(&T::method).remote() does not convert "
                  "to the method's parameter type (an object_ref<T> argument "
                  "passes a T)");
    using call_type = detail::typed_call<T, R, M, detail::arg_holder_t<Ps, As>...>;
    auto c = std::make_shared<call_type>(*name_, m_, std::forward<As>(args)...);
    if (!call_name_.empty()) [[unlikely]]
      c->call_name = call_name_;
    return object_ref<result_type>{
      detail::submit_call(core_, std::move(c), group_.empty() ? nullptr : &group_)};
  }

public:
  /// Names this call in the state API and the timeline (`list_tasks`,
  /// `manta list tasks`) instead of "Class.method" (Ray's per-call `name`).
  actor_method name(std::string n) const {
    auto out = *this;
    out.call_name_ = std::move(n);
    return out;
  }

  /// Runs this call in concurrency group `g` of the actor (one given to
  /// `actor<T>().concurrency_groups(...)`), instead of the method's own
  /// group. An unknown group is an `invalid_argument_error` at `.remote()`.
  actor_method concurrency_group(std::string g) const {
    auto out = *this;
    out.group_ = std::move(g);
    return out;
  }

  /// For a streaming generator method (generator.hpp): at most `n` items
  /// yielded and not yet taken by the caller's `next()`; the method's
  /// `yield` past that waits, parked, until the caller reads one. 0 (the
  /// default): no limit.
  actor_method generator_backpressure(size_t n) const {
    static_assert(detail::generator_method<M>::value,
                  "manta: generator_backpressure applies to streaming generator methods "
                  "only (first parameter generator_sink<T>&)");
    auto out = *this;
    out.window_ = n;
    return out;
  }

  /// For a method returning a `std::tuple` or `std::pair` of N values:
  /// `.remote` then returns one ref per value (see num_returns.hpp).
  template <size_t N>
  multi_return<N, actor_method> num_returns() const {
    static_assert(N >= 1, "manta: num_returns<N>() needs N >= 1");
    return multi_return<N, actor_method>{*this};
  }

private:
  std::shared_ptr<detail::actor_core> core_;
  M m_;
  const std::string* name_;
  std::string call_name_; ///< Per-call `name`; empty: "Class.method".
  std::string group_;     ///< Per-call concurrency group; empty: the method's.
  uint64_t window_ = 0;   ///< `generator_backpressure(n)`; 0: none.
};

/// A reference to a live actor. A value: copy it, compare it, pass it to
/// tasks and to other actors' methods, on this node or another (there its
/// calls travel to the actor's home; see store/lent_handles.hpp); every
/// copy calls the same actor.
template <class T>
class actor_handle {
public:
  actor_handle() noexcept = default;

  /// Prepares a call of a method listed in the class's `MANTA_ACTOR`.
  /// Throws `unknown_function_error` for a method that is not listed.
  template <class R, class... Ps>
  actor_method<T, R (T::*)(Ps...), R, Ps...> call(R (T::*m)(Ps...)) const {
    check_method<R, Ps...>();
    return {core(), m, method_name(m)};
  }
  /// Calls a const method (as `call` above).
  template <class R, class... Ps>
  actor_method<T, R (T::*)(Ps...) const, R, Ps...> call(R (T::*m)(Ps...) const) const {
    check_method<R, Ps...>();
    return {core(), m, method_name(m)};
  }

  /// False for a default-constructed handle.
  explicit operator bool() const noexcept { return anchor_ != nullptr; }

  /// How errors name the actor: its class and, if given, its name.
  const std::string& display_name() const { return detail::actor_display_name(*core()); }

  friend bool operator==(const actor_handle& x, const actor_handle& y) noexcept { ///< Same actor?
    auto* a = x.anchor_ ? x.anchor_->core.get() : nullptr;
    auto* b = y.anchor_ ? y.anchor_->core.get() : nullptr;
    return a == b;
  }

  // -- runtime internals ------------------------------------------------------

  explicit actor_handle(detail::anchor_ptr anchor) : anchor_(std::move(anchor)) {} ///< Internal.

  const detail::anchor_ptr& anchor() const noexcept { return anchor_; } ///< Internal.

  /// How a handle crosses nodes (CAF's `inspect` idiom, for the codec's
  /// inspectors: value_inspector.hpp): as its actor's home node and id. Writing one lends it (its
  /// home keeps the actor for calls from elsewhere); reading one gives the
  /// home's actor, or a stand-in whose calls travel there.
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, actor_handle& h) {
    detail::handle_wire w;
    if constexpr (Inspector::reads_state)
      w = detail::lend(h.anchor_);
    auto load = detail::meta::load_callback([&]() -> detail::value_error {
      try {
        h.anchor_ = detail::borrow(typeid(T), w);
        return {};
      } catch (const std::exception& e) {
        return detail::value_error{std::string{e.what()}};
      }
    });
    return f(detail::meta::type_name("manta::actor_handle"), w.home, w.id, w.cls, load);
  }

private:
  template <class R, class... Ps>
  static constexpr void check_method() {
    static_assert(!std::is_reference_v<R>, "manta: an actor method must return by value");
    static_assert((detail::param_supported<Ps>() && ...),
                  "manta: actor method parameters must be values or const "
                  "references (arguments are immutable once submitted)");
  }

  const std::shared_ptr<detail::actor_core>& core() const {
    if (!anchor_)
      throw invalid_argument_error("manta: the actor_handle is empty (default-constructed "
                                   "or moved from)");
    return anchor_->core;
  }

  template <class M>
  static const std::string& method_name(M m) {
    const auto& cls = detail::lookup_actor_class(typeid(T));
    return detail::lookup_method(cls, typeid(M), &m, sizeof(M));
  }

  detail::anchor_ptr anchor_;
};

/// An actor class with its options, ready to be created with `.remote()`.
/// Obtained from `actor<T>()`; the options chain:
/// `actor<T>().name("c").max_restarts(2).remote(ctor args...)`.
template <class T>
class actor_builder {
public:
  /// Name under which `get_actor<T>(name, ns)` finds the actor. A name taken
  /// by a live actor is an `actor_exists_error`; a blank one (empty or only
  /// spaces) an `invalid_argument_error`.
  actor_builder& name(std::string n) {
    detail::check_actor_name(n, "name", "actor<T>().name");
    opts_.name = std::move(n);
    return *this;
  }

  /// With `name(...)`: if a live actor has that name in the namespace,
  /// `.remote()` returns a handle to it (its constructor arguments are
  /// then unused) instead of throwing `actor_exists_error` (Ray's
  /// `get_if_exists`). Creators racing in one process get one actor.
  actor_builder& get_if_exists(bool flag = true) {
    opts_.get_if_exists = flag;
    return *this;
  }

  /// Namespace of the name (default: the job's, `init_options::ns`, which
  /// is "default" unless set); not blank.
  actor_builder& namespace_(std::string ns) {
    detail::check_actor_name(ns, "namespace", "actor<T>().namespace_");
    opts_.ns = std::move(ns);
    return *this;
  }

  /// CPUs the actor holds for its whole life (default 0).
  actor_builder& num_cpus(double n) {
    opts_.resources.cpus = n;
    return *this;
  }

  /// Resources the actor holds for its whole life, e.g. {{"GPU", 1}}.
  actor_builder& resources(const resource_map& rs) {
    opts_.resources.assign(rs);
    return *this;
  }

  /// Creates the actor in bundle `bundle_index` of `pg` (-1: any bundle):
  /// it holds its `num_cpus`/`resources` out of what the bundle reserved,
  /// and dies when the group is removed.
  actor_builder& placement_group(const manta::placement_group& pg, int bundle_index = -1) {
    placement_ = {pg.raw_id(), bundle_index};
    return *this;
  }

  /// How often the actor restarts after dying (-1: always).
  actor_builder& max_restarts(int n) {
    opts_.max_restarts = n;
    return *this;
  }

  /// How often a call running when the actor died is re-run on the
  /// restarted actor (-1: always).
  actor_builder& max_task_retries(int n) {
    opts_.max_task_retries = n;
    return *this;
  }

  /// Whether a call whose method throws is re-run on the same instance, up
  /// to `max_task_retries` times (Ray's `retry_exceptions` for actor tasks);
  /// without it an exception fails only that call, at once.
  actor_builder& retry_exceptions(bool flag = true) {
    opts_.retry_exceptions = flag;
    opts_.retry_exception_types.clear();
    return *this;
  }

  /// Re-runs only calls that threw one of these types (or a type derived
  /// from one), up to `max_task_retries` times; other exceptions fail the
  /// call at once.
  template <class E, class... Es>
  actor_builder& retry_exceptions() {
    opts_.retry_exceptions = false;
    opts_.retry_exception_types = detail::exception_keys<E, Es...>();
    return *this;
  }

  /// The same, with the types as a value: `retry_exceptions(exceptions<E1, E2>{})`.
  template <class... Es>
  actor_builder& retry_exceptions(exceptions<Es...>) {
    return retry_exceptions<Es...>();
  }

  /// Calls that may run at once (default 1; 1000 for async actors).
  actor_builder& max_concurrency(int n) {
    opts_.max_concurrency = n;
    return *this;
  }

  /// The actor lives until `kill` or `shutdown`, not until its handles are
  /// gone; it needs a name.
  actor_builder& lifetime_detached() { return lifetime(actor_lifetime::detached); }

  /// The actor's lifetime, overriding `init_options::default_actor_lifetime`
  /// (detached needs a name).
  actor_builder& lifetime(actor_lifetime l) {
    opts_.detached = l == actor_lifetime::detached;
    opts_.lifetime_given = true;
    return *this;
  }

  /// Back pressure (Ray's `max_pending_calls`): with n > 0, once n calls
  /// from this process are submitted and not yet finished, the next
  /// `.remote()` on any of its handles throws `pending_calls_limit_error`.
  /// -1 or 0 (default): no limit.
  actor_builder& max_pending_calls(int n) {
    opts_.max_pending_calls = n;
    return *this;
  }

  /// Named groups of methods, each with its own limit of calls running at
  /// once (Ray's concurrency groups): `concurrency_groups({{"io", 2},
  /// {"compute", 4}})`. Methods are put in a group with
  /// `concurrency_group(&T::m, "io")` or per call with
  /// `h.call(&T::m).concurrency_group("io")`; the others run in the default
  /// group, limited by `max_concurrency` (1 unless set; 1000 for async
  /// actors). Calls keep their order within a group; a full group does not
  /// hold back the others. For actors on this node (an actor placed on
  /// another node with groups is an `invalid_argument_error`).
  actor_builder& concurrency_groups(std::vector<concurrency_group> groups) {
    opts_.concurrency_groups = std::move(groups);
    return *this;
  }

  /// Puts method `m` in concurrency group `group` for every call that does
  /// not pick another (Ray's `@ray.method(concurrency_group=...)`).
  template <class U, class R, class... Ps>
  actor_builder& concurrency_group(R (U::*m)(Ps...), std::string group) {
    return method_group<U>(m, std::move(group));
  }
  /// The same for a const method.
  template <class U, class R, class... Ps>
  actor_builder& concurrency_group(R (U::*m)(Ps...) const, std::string group) {
    return method_group<U>(m, std::move(group));
  }

  /// Places actors round robin over the cluster's nodes, this one included
  /// (Ray's "SPREAD").
  actor_builder& spread() {
    opts_.strategy = {scheduling_strategy::spread, 0, false};
    return *this;
  }

  /// Places the actor on `node` (and its restarts too); with `soft`, on
  /// another node if that one is dead or can never fit it. Calls then
  /// travel there and back (their arguments and result must be
  /// serializable, as for tasks on other nodes).
  actor_builder& node_affinity(node_id node, bool soft = false) {
    opts_.strategy = {scheduling_strategy::node_affinity, node, soft};
    return *this;
  }

  const actor_options& options() const noexcept { return opts_; } ///< The options chained so far.

  /// Creates the actor: its constructor runs on a worker thread once its
  /// object arguments exist and its resources are free. Returns at once.
  /// An `object_ref<U>` argument passes the ref itself, unresolved, where
  /// a constructor takes an `object_ref<U>` (as a task's parameter of that
  /// type does), else its value as a `const U&`, read first.
  template <class... As>
  actor_handle<T> remote(As&&... args) const {
    using choice = detail::ctor_choice_t<T, As...>;
    static_assert(choice::constructible,
                  "manta: actor<T>().remote(args...): T has no constructor taking "
                  "these arguments (an object_ref<U> argument passes itself or a const U&)");
    using ctor_type = typename choice::type;
    auto ctor = std::make_unique<ctor_type>(std::forward<As>(args)...);
    if (placement_.group == 0)
      return actor_handle<T>{detail::create_actor(typeid(T), opts_, std::move(ctor))};
    auto opts = opts_;
    auto group = detail::place_in_group(
      placement_, opts.resources, opts.strategy,
      "actor " + (opts.name.empty() ? detail::demangle(typeid(T).name()) : opts.name));
    auto anchor = detail::create_actor(typeid(T), std::move(opts), std::move(ctor));
    detail::track_in_group(group, anchor);
    return actor_handle<T>{std::move(anchor)};
  }

private:
  template <class U, class M>
  actor_builder& method_group(M m, std::string group) {
    static_assert(std::is_same_v<U, T>,
                  "manta: actor<T>().concurrency_group(&U::method, ...): the method must "
                  "be one of T's own");
    const auto& cls = detail::lookup_actor_class(typeid(T));
    opts_.method_groups.emplace_back(&detail::lookup_method(cls, typeid(M), &m, sizeof(M)),
                                     std::move(group));
    return *this;
  }

  actor_options opts_;
  placement_option placement_; ///< `.placement_group(pg, i)`, if given.
};

/// Prepares the creation of an actor of a class marked with `MANTA_ACTOR`.
template <class T>
actor_builder<T> actor() {
  return {};
}

/// Finds the live actor named `name` in namespace `ns`. Throws
/// `actor_not_found_error` if there is none or it is not a `T`, and
/// `invalid_argument_error` for a blank name or namespace.
template <class T>
actor_handle<T> get_actor(const std::string& name, const std::string& ns) {
  // Checked here: find_actor reads an empty namespace as "the job's".
  detail::check_actor_name(ns, "namespace", "manta::get_actor");
  return actor_handle<T>{detail::find_actor(typeid(T), name, ns)};
}

/// Finds the live actor named `name` in the job's namespace
/// (`init_options::ns`, "default" unless set).
template <class T>
actor_handle<T> get_actor(const std::string& name) {
  return actor_handle<T>{detail::find_actor(typeid(T), name, std::string{})};
}

/// Kills an actor: queued and running calls fail with `actor_died_error`
/// (a running method finishes in the background: C++ cannot interrupt a
/// thread). With `no_restart = false` it counts as a crash and the actor
/// restarts if `max_restarts` allows.
template <class T>
void kill(const actor_handle<T>& h, bool no_restart = true) {
  if (!h)
    throw invalid_argument_error("manta::kill: the actor_handle is empty");
  detail::kill_actor(*h.anchor()->core, no_restart);
}

/// Inside an actor method: ends the actor after this method, for good (no
/// restart). The call's ref and every queued call fail with
/// `actor_died_error`. Never returns.
[[noreturn]] void exit_actor();

/// Inside an actor's constructor or method: true if this instance replaces
/// one that died.
bool was_restarted() noexcept;

/// Inside an actor: how often it has been restarted (0 outside actors).
int restart_count() noexcept;

} // namespace manta
