#pragma once

namespace manta::detail {

/// Throws `invalid_argument_error` naming the fix if this process was
/// started as a node (--manta-worker or --manta-head on its command line,
/// read from /proc/self/cmdline) yet `init` was called without argc and
/// argv: it would run as a driver of its own and never join.
void refuse_node_without_argv();

} // namespace manta::detail
