#pragma once

namespace manta::tools {

/// The commands that read a running node through its dashboard endpoint
/// (`init_options::dashboard_port`). Each takes `--address=HOST:PORT`
/// (or `--dashboard=`); without it, `MANTA_DASHBOARD` or the address the
/// latest node started on this machine recorded in the runtime dir.

/// `manta list tasks|actors|objects|nodes [--filter KEY=VALUE]...
/// [--limit=N] [--format=table|json]`.
int list_main(int argc, char** argv);

/// `manta status --dashboard=HOST:PORT`: the node's task counts, nodes,
/// actors and memory in a few lines.
int node_status_main(int argc, char** argv);

/// `manta memory`: every object with its size, location, owner and creator.
int memory_main(int argc, char** argv);

/// `manta timeline -o trace.json`: writes the Chrome trace of recent tasks.
int timeline_main(int argc, char** argv);

/// `manta why OBJECT_ID`: what the object's task waits for.
int why_main(int argc, char** argv);

/// Whether `manta status` was given a dashboard address (then it is
/// `node_status_main`, not the cluster's membership listing).
bool wants_node_status(int argc, char** argv);

} // namespace manta::tools
