#pragma once

namespace manta::tools {

/// `manta job submit|list|status|logs|stop`: drivers run as jobs started
/// from this machine, each with an id, its output in a log file and its
/// record (pid, entrypoint, start, end, state) in the runtime folder.
int job_main(int argc, char** argv);

} // namespace manta::tools
