#pragma once

namespace manta::tools {

/// `manta logs TASK_ID | --actor=ID_OR_NAME | --node[=NAME] [--tail=N]
/// [--follow] [--format=table|json] [--address=HOST:PORT]`: the lines a
/// task, an actor's calls or every task of a node printed, from the node's
/// dashboard (/api/log_lines), or from the head's, every member's under a
/// `== NODE ==` header. `--follow` asks again every 250 ms for lines newer
/// than the last it printed, until interrupted (log_follow.hpp); against a
/// node it fails (exit 1) once the node stops answering, against the head
/// it follows every member, says which one stops answering, and fails once
/// the head does.
int logs_main(int argc, char** argv);

} // namespace manta::tools
