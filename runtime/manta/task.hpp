#pragma once

#include "manta/sched/function_registry.hpp"
#include "manta/sched/task_blocks.hpp"
#include "manta/sched/typed_task.hpp"
#include "manta/errors.hpp"
#include "manta/generator.hpp"
#include "manta/num_returns.hpp"
#include "manta/object_ref.hpp"
#include "manta/placement_group.hpp"
#include "manta/retry_exceptions.hpp"
#include "manta/task_options.hpp"

#include <memory>
#include <optional>
#include <string>
#include <type_traits>

namespace manta {

/// A remote function with its options, ready to be called with `.remote()`.
/// Obtained from `task(f)`; the options chain:
/// `task(f).num_cpus(2).max_retries(5).remote(x)`.
template <class R, class... Ps>
class task_builder {
public:
  using function_type = R (*)(Ps...); ///< The registered function's type.

  task_builder(function_type fn, const detail::function_info& info)
    : fn_(fn), info_(&info) { ///< Runtime internals: made by `task(f)`.
    // nop
  }

  /// CPUs the task holds while it runs (default 1; fractions allowed).
  task_builder& num_cpus(double n) {
    edit().resources.cpus = n;
    return *this;
  }

  /// Custom resources the task holds while it runs, e.g. {{"GPU", 1}}.
  task_builder& resources(const resource_map& rs) {
    edit().resources.assign(rs);
    return *this;
  }

  /// How often a failed task is re-run (see `retry_exceptions`).
  task_builder& max_retries(int n) {
    edit().max_retries = n;
    return *this;
  }

  /// After how many deaths of the nodes running it the task fails with
  /// `node_died_error` (default 2; -1: bounded by `max_retries` alone).
  task_builder& max_node_failures(int n) {
    edit().max_node_failures = n;
    return *this;
  }

  /// Whether exceptions thrown by the task's code are retried (up to
  /// `max_retries` times).
  task_builder& retry_exceptions(bool flag = true) {
    auto& o = edit();
    o.retry_exceptions = flag;
    o.retry_exception_types.clear();
    return *this;
  }

  /// Retries only exceptions of these types or types derived from them
  /// (as `catch (const E&)` would catch them); any other exception fails
  /// the task at once. On another node too: the types are found there by
  /// name in the same binary.
  template <class E, class... Es>
  task_builder& retry_exceptions() {
    auto& o = edit();
    o.retry_exceptions = false;
    o.retry_exception_types = detail::exception_keys<E, Es...>();
    return *this;
  }

  /// The same, with the types as a value: `retry_exceptions(exceptions<E1, E2>{})`.
  template <class... Es>
  task_builder& retry_exceptions(exceptions<Es...>) {
    return retry_exceptions<Es...>();
  }

  /// Spreads tasks round robin over the cluster's nodes (Ray's "SPREAD").
  task_builder& spread() {
    edit().strategy = {scheduling_strategy::spread, 0, false};
    return *this;
  }

  /// Runs the task on `node` only; with `soft`, on another node if that one
  /// is dead or can never fit it. A hard affinity to a node that is not
  /// alive fails the task with `infeasible_task_error`.
  task_builder& node_affinity(node_id node, bool soft = false) {
    edit().strategy = {scheduling_strategy::node_affinity, node, soft};
    return *this;
  }

  /// Runs the task in bundle `bundle_index` of `pg` (-1: any bundle), on
  /// the resources reserved there (Ray's PlacementGroupSchedulingStrategy).
  /// Its `num_cpus`/`resources` must fit in the bundle.
  task_builder& placement_group(const manta::placement_group& pg, int bundle_index = -1) {
    placement_ = {pg.raw_id(), bundle_index};
    return *this;
  }

  /// Name shown in errors and tools instead of the function's name.
  task_builder& name(std::string n) {
    edit().name = std::move(n);
    return *this;
  }

  /// For a streaming generator (generator.hpp): at most `n` items yielded
  /// and not yet taken by the caller's `next()`; the producer's `yield`
  /// past that waits, parked, until the caller reads one (Ray's
  /// `_generator_backpressure_num_objects`). 0 (the default): no limit.
  task_builder& generator_backpressure(size_t n) {
    static_assert(detail::generator_fn<function_type>::value,
                  "manta: generator_backpressure applies to streaming generators only "
                  "(first parameter generator_sink<T>&)");
    window_ = n;
    return *this;
  }

  /// The options chained so far: the process's one immutable default
  /// options while none was chained, which a task then shares instead of
  /// copying (`task_spec::opts`).
  const task_options& options() const noexcept {
    return opts_ ? *opts_ : detail::default_task_options();
  }

  /// For a function returning a `std::tuple` or `std::pair` of N values:
  /// `.remote` then returns one ref per value (Ray's `num_returns`; see
  /// num_returns.hpp). Chained last; N must match the tuple (checked at
  /// compile time).
  template <size_t N>
  multi_return<N, task_builder> num_returns() const {
    static_assert(N >= 1, "manta: num_returns<N>() needs N >= 1");
    return multi_return<N, task_builder>{*this};
  }

  /// Submits the task. Each argument is a value convertible to the
  /// parameter's type or an `object_ref` to one; ref arguments are waited
  /// for before the task runs. Returns at once with a ref to the result.
  ///
  /// For a streaming generator (first parameter `generator_sink<T>&`, see
  /// generator.hpp) the arguments are the other parameters' and the result
  /// is an `object_ref_generator<T>`.
  template <class... As>
  auto remote(As&&... args) const {
    if constexpr (detail::generator_fn<function_type>::value) {
      if (placement_.group != 0)
        throw invalid_argument_error("task '" + info_->name
                                     + "': a streaming generator cannot run in a placement "
                                       "group yet; submit it without .placement_group(...)");
      return detail::generator_fn<function_type>::submit_task(fn_, *info_, options(), window_,
                                                              std::forward<As>(args)...);
    } else {
      return submit_task(std::forward<As>(args)...);
    }
  }

private:
  template <class... As>
  object_ref<R> submit_task(As&&... args) const {
    static_assert(sizeof...(As) == sizeof...(Ps),
                  "manta: remote() got a different number of arguments than "
                  "the remote function has parameters");
    static_assert((detail::arg_compatible<Ps, As>() && ...),
                  "manta: an argument of remote() does not convert to the "
                  "remote function's parameter type (an object_ref<T> "
                  "argument passes a T)");
    using spec_type = detail::typed_task<R, function_type, detail::arg_holder_t<Ps, As>...>;
    if (placement_.group != 0)
      return remote_in_group<spec_type>(std::forward<As>(args)...);
    // Its memory comes from the thread's cache of tasks' blocks
    // (task_blocks.hpp), not malloc's, on the common path.
    auto spec = std::allocate_shared<spec_type>(detail::task_blocks::allocator<spec_type>{}, fn_,
                                                info_->name, options(), std::forward<As>(args)...);
    spec->library = &info_->library;
    return object_ref<R>{detail::submit(std::move(spec))};
  }

  /// `remote` for a task in a placement group: its demand moves onto the
  /// bundle's reserved resources (a copy of the options, so the builder
  /// can be used again).
  template <class Spec, class... As>
  object_ref<R> remote_in_group(As&&... args) const {
    std::shared_ptr<detail::placement_record> group;
    // A const lvalue, as `submit_task` passes `options()`: one instantiation of
    // make_shared for both (this path is rare; the extra copy is cheap).
    const task_options opts = detail::place_task_in_group(placement_, options(), info_->name,
                                                          group);
    auto spec = std::make_shared<Spec>(fn_, info_->name, opts, std::forward<As>(args)...);
    spec->library = &info_->library;
    object_ref<R> ref{detail::submit(spec)};
    detail::track_in_group(group, spec);
    return ref;
  }

  /// The options to change, made from the defaults at the first option
  /// chained.
  task_options& edit() {
    if (!opts_)
      opts_.emplace();
    return *opts_;
  }

  function_type fn_;
  const detail::function_info* info_;
  /// The options chained; none while none was (the defaults, shared by the
  /// tasks: no copy per task nor destruction per builder).
  std::optional<task_options> opts_;
  placement_option placement_; ///< `.placement_group(pg, i)`, if given.
  uint64_t window_ = 0;         ///< `.generator_backpressure(n)`; 0: none.
};

/// Prepares a call of a function marked with `MANTA_REMOTE` as a task.
/// Throws `unknown_function_error` if `f` was not registered.
template <class R, class... Ps>
task_builder<R, Ps...> task(R (*f)(Ps...)) {
  static_assert(!std::is_reference_v<R>, "manta: a remote function must return by value");
  static_assert((detail::param_supported<Ps>() && ...),
                "manta: remote function parameters must be values or const "
                "references (arguments are immutable once submitted)");
  const auto& info = detail::lookup_function(reinterpret_cast<const void*>(f), typeid(R(Ps...)));
  return task_builder<R, Ps...>{f, info};
}

} // namespace manta
