#pragma once

namespace manta::tools {

/// `manta sim --seeds=A..B [--jobs=N] [--timeout=D] -- PROGRAM [ARGS...]`:
/// runs PROGRAM once per seed as a simulation (docs/simulation.md), several
/// at once, and reports the seeds whose run failed with the command that
/// replays one. Exit 0 when every seed passed, 1 when one failed, 2 on bad
/// usage.
int sim_main(int argc, char** argv);

} // namespace manta::tools
