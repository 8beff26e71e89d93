#pragma once

#include "manta/errors.hpp"
#include "manta/object_ref.hpp"
#include "manta/resources.hpp"
#include "manta/state.hpp"
#include "manta/task_options.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace manta {

/// How the bundles of a placement group are laid out over nodes (Ray's
/// placement strategies).
enum class placement_strategy : uint8_t {
  /// As few nodes as possible; may use several when one cannot hold all.
  pack,
  /// Over as many nodes as possible; may share a node when there are not enough.
  spread,
  /// Every bundle on one node, or the group is not created.
  strict_pack,
  /// Every bundle on a node of its own, or the group is not created.
  strict_spread,
};

/// "PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD".
std::string_view to_string(placement_strategy s) noexcept;

/// Raised by `create_placement_group` when the group's bundles can never be
/// reserved together (a bundle larger than any node, the sum larger than
/// the node, more STRICT_SPREAD bundles than nodes). The message names the
/// group, what it needs and what there is.
class placement_group_infeasible_error : public error {
public:
  using error::error;
};

/// Raised by `get` on the result of a task that ran (or waited) in a
/// placement group when the group was removed, by `get` on `ready()` of a
/// group removed before it was ready, and by `.remote()` of a task or actor
/// naming a removed group.
class placement_group_removed_error : public error {
public:
  using error::error;
};

/// Raised by `get_placement_group(name)` when no live group has that name.
class placement_group_not_found_error : public error {
public:
  using error::error;
};

/// The bundle a task or actor runs in (`.placement_group(pg, bundle_index)`).
struct placement_option {
  uint64_t group = 0; ///< The group's id; 0: none.
  /// The bundle's index; -1: any bundle of the group.
  int bundle = -1;
};

namespace detail {

struct placement_record;
class task_spec;
struct actor_anchor;

/// For `.remote()` of a task or actor with a placement option: checks the
/// bundle index and that `demand` fits the bundle, rewrites `demand` onto
/// the bundle's reserved resources and pins `where` to this node. Throws
/// naming `who` (see `placement_registry::apply`).
std::shared_ptr<placement_record> place_in_group(const placement_option& opt,
                                                 resource_demand& demand,
                                                 scheduling_strategy& where,
                                                 const std::string& who);

/// `place_in_group` for a task: a copy of `opts` moved onto the bundle's
/// resources, with the group's record in `group`; errors name the task
/// (`opts.name`, else `fn_name`). Out of line, so a task's `.remote()`
/// does not build the copy and the text in each file that calls it.
task_options place_task_in_group(const placement_option& opt, const task_options& opts,
                                 const std::string& fn_name,
                                 std::shared_ptr<placement_record>& group);

/// Remembers a submitted task or created actor of the group, so that
/// removing the group fails it.
void track_in_group(const std::shared_ptr<placement_record>& pg,
                    const std::shared_ptr<task_spec>& t);
void track_in_group(const std::shared_ptr<placement_record>& pg,
                    const std::shared_ptr<actor_anchor>& a);

} // namespace detail

/// A group of resource bundles reserved all or nothing (Ray's
/// `PlacementGroup`). Made by `create_placement_group`; a copyable handle.
/// Tasks and actors run inside a bundle with
/// `.placement_group(pg, bundle_index)` and use the resources reserved
/// there instead of the node's free ones.
class placement_group {
public:
  placement_group() = default;

  /// The group's id, 16 hex digits (what `list_placement_groups` shows).
  std::string id() const;

  /// Its name; empty for an anonymous group.
  const std::string& name() const;

  placement_strategy strategy() const; ///< How its bundles are laid out.

  /// The bundles, in the order given (the index `.placement_group(pg, i)` takes).
  const std::vector<resource_map>& bundles() const;

  /// A ref sealed with `true` once every bundle is reserved; usable with
  /// `get(ref, timeout)` and `wait`. Fails with
  /// `placement_group_removed_error` if the group is removed first.
  object_ref<bool> ready() const;

  /// Ray's `pg.wait(timeout)`: true once the group is ready, false if it
  /// is not within `timeout` (or was removed).
  bool wait(std::chrono::milliseconds timeout) const;

  /// False for a default-constructed handle.
  explicit operator bool() const noexcept { return record_ != nullptr; }

  // -- runtime internals ------------------------------------------------------

  explicit placement_group(std::shared_ptr<detail::placement_record> r) noexcept
    : record_(std::move(r)) {} ///< Internal.

  uint64_t raw_id() const noexcept; ///< Internal: the numeric id.

  const std::shared_ptr<detail::placement_record>& record() const noexcept {
    return record_;
  } ///< Internal.

private:
  std::shared_ptr<detail::placement_record> record_;
};

/// Reserves `bundles` (each a resource_map such as `{{"CPU", 2}}`) laid out
/// by `strategy`, all or nothing: the group is ready once every bundle is
/// reserved and waits, queued like a task, while the resources are taken.
/// Throws `placement_group_infeasible_error` at once if the bundles can
/// never fit, `invalid_argument_error` for an empty list, a bad amount or
/// a name a live group has.
placement_group create_placement_group(std::vector<resource_map> bundles,
                                       placement_strategy strategy = placement_strategy::pack,
                                       std::string name = {});

/// Frees the group's resources. Tasks running or waiting in it fail with
/// `placement_group_removed_error`; actors in it die (their calls fail with
/// `actor_died_error` naming the removal). Removing twice does nothing.
void remove_placement_group(const placement_group& pg);

/// The live group named `name`; `placement_group_not_found_error` if none.
placement_group get_placement_group(const std::string& name);

/// One bundle of a group as the state API reports it.
struct bundle_info {
  size_t index = 0;       ///< Its index in the group.
  resource_map resources; ///< What it reserves.
  /// The node it is reserved on; empty while the group is pending or
  /// while this bundle is placed again after its node died.
  std::string node;
};

/// One placement group as the state API reports it.
struct placement_group_info {
  std::string id;       ///< 16 hex digits.
  std::string name;     ///< Empty for an anonymous group.
  std::string strategy; ///< "PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD".
  /// "PENDING" (waits for resources), "CREATED", "RESCHEDULING" (a node
  /// holding some bundles died; those are being placed again) or "REMOVED".
  std::string state;
  std::vector<bundle_info> bundles; ///< Its bundles and where they sit.
  size_t tasks = 0;  ///< Tasks submitted into it that have not finished.
  size_t actors = 0; ///< Actors created in it that are alive.

  /// The field named `key` as text, for filters ("id", "name", "strategy",
  /// "state"); empty for unknown keys.
  std::string field(std::string_view key) const;
};

/// The node's placement groups: live ones, then the most recently removed.
std::vector<placement_group_info> list_placement_groups(const list_filter& filter = {});

} // namespace manta
