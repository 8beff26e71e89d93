#pragma once

namespace manta::tools {

/// `manta logs TASK_ID | --actor=ID_OR_NAME | --node[=NAME] [--tail=N]
/// [--follow] [--format=table|json] [--address=HOST:PORT]`: the lines a
/// task, an actor's calls or every task of a node printed, from the node's
/// dashboard (/api/log_lines). `--follow` asks again every 250 ms for lines
/// newer than the last it printed, until interrupted; it fails (exit 1)
/// once the node stops answering.
int logs_main(int argc, char** argv);

} // namespace manta::tools
