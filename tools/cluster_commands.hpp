#pragma once

namespace manta::tools {

/// `manta start --head [--port=P]` or
/// `manta start --address=HOST:PORT [--num-cpus=N] [--resources=GPU:1] -- PROGRAM [ARGS...]`:
/// starts a head, or a worker node running the user's PROGRAM (which calls
/// manta::init(argc, argv)), as a daemon with a pid file in the runtime dir.
int start_main(int argc, char** argv);

/// `manta stop`: stops every daemon `manta start` started on this machine.
int stop_main(int argc, char** argv);

/// `manta status [--address=HOST:PORT|auto]`: lists the live worker nodes.
int status_main(int argc, char** argv);

} // namespace manta::tools
