#pragma once

namespace manta::tools {

/// `manta summary tasks|actors|objects [--group-by=type|callsite]
/// [--format=table|json] [--address=HOST:PORT]`, as Ray's `ray summary`:
/// tasks grouped by function (or "Class.method") with counts per state,
/// actors by class with counts per state, objects by type (or by the call
/// that created them) with their count and total size. Groups are sorted by
/// name, states in the order of a task's life, so the output is stable.
int summary_main(int argc, char** argv);

} // namespace manta::tools
