#pragma once

namespace manta::tools {

/// `manta microbenchmark [--filter=SUBSTR] [--json] [--runs=N] [--num-cpus=N]`:
/// measures the runtime's per-call costs under Ray's metric names, next to
/// the raw-CAF floor measured in the same run.
int microbenchmark_main(int argc, char** argv);

} // namespace manta::tools
