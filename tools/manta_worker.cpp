// `manta-worker`: the generic worker node that `manta start --address=...`
// starts when no program follows `--`. It has no functions of its own: it
// runs the jobs whose drivers name their code with a code search path
// (docs/cluster.md, "Jobs"), loading each job's shared libraries when the
// job first sends it work. Linked with the shared libmanta, so that those
// libraries (built against it too) register into this process's runtime.

#include <manta/cluster.hpp>

int main(int argc, char** argv) {
  return manta::worker_main(argc, argv);
}
