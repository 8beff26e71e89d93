#pragma once

#include "manta/sched/callable_layout.hpp"
#include "manta/net/wire.hpp"

#include <cstdint>
#include <string>

/// A binary's fingerprint: every function (`MANTA_REMOTE`), actor class
/// (`MANTA_ACTOR`, its methods) and actor constructor another node may ask
/// for, each with its name, signature and the layouts of its parameter and
/// result types (type_layout.hpp), hashed one by one and all together.
/// Members send it when they join; the head refuses a member whose build
/// disagrees with a live member's on something both have (same-size type
/// skew would otherwise decode one layout as another and return wrong
/// values without an error).
namespace manta::detail {

/// This process's fingerprint, computed on first use (after static
/// initialization, when every registration is in) and kept.
const wire::build_info& this_build();

/// A build hash as messages show it: its first 12 hex digits.
std::string build_id(uint64_t hash);

/// What differs between two builds in what both have, as a sentence for
/// messages ("function 'scale' differs: argument 1 is point{int32, float32}
/// here and point{float32, int32} there"; at most three, then a count); empty
/// if they agree. `here` is this side's build, `there` the other's.
std::string build_conflict(const wire::build_info& here, const wire::build_info& there);

/// Why `joining` may not join a cluster that has `member` (their builds
/// disagree), naming both processes and builds and saying what to do;
/// empty if it may. Written for the joining process, which prints it.
std::string join_conflict(const wire::node_record& joining, const wire::node_record& member);

/// Why `node` refuses a call of `what` ("function 'scale'") whose caller
/// sent layout hash `theirs` when its own layouts are `here`; empty if
/// they agree or the caller sent none (0).
std::string call_layout_refusal(const std::string& what, const std::string& node,
                                const callable_layout& here, uint64_t theirs);

} // namespace manta::detail
