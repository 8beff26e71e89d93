/// The tour: runs every scenario of the Ray Core tutorial in order, each as
/// its own program (the sibling `<name>_demo` binaries), shows what each
/// prints, and ends with a table of each demo's status and time.
///
///   tour_demo [--fast] [--num-cpus=N] [other flags for the demos]
///
/// Every argument is passed on to every demo; --fast makes the whole tour
/// take seconds. Exits 0 only if every demo did.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

/// The tutorial's scenarios, in its order; fault tolerance closes the tour.
const char* const demos[] = {
  "parallel_files",  "dependency_graph", "model_server",    "async_actor",   "large_object",
  "pipelining_wait", "worker_pool",      "monte_carlo_pi",  "data_pipeline", "parameter_server",
  "monitoring",      "perf_debugging",   "fault_tolerance",
};

struct outcome {
  std::string name;
  std::string status;
  double seconds = 0;
};

/// Runs `exe` with `args`, its output going straight to ours; returns a
/// status: "ok", "exit N", "signal N" or "missing".
std::string run(const std::filesystem::path& exe, const std::vector<std::string>& args) {
  if (!std::filesystem::exists(exe))
    return "missing";
  std::vector<std::string> storage{exe.string()};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage)
    argv.push_back(s.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  pid_t pid = 0;
  if (posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
    return "spawn failed";
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    ; // interrupted: wait again
  if (WIFEXITED(status))
    return WEXITSTATUS(status) == 0 ? "ok" : "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "signal " + std::to_string(WTERMSIG(status));
  return "unknown";
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // The demos sit next to this program in the build tree.
  auto dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  std::vector<outcome> outcomes;
  auto tour_start = std::chrono::steady_clock::now();
  int n = 0;
  for (const char* name : demos) {
    std::printf("\n==== %d/%zu %s ====\n\n", ++n, std::size(demos), name);
    auto t0 = std::chrono::steady_clock::now();
    auto status = run(dir / (std::string{name} + "_demo"), args);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    outcomes.push_back({name, status, s});
  }
  double total =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - tour_start).count();

  std::printf("\n==== tour summary ====\n\n%3s  %-18s  %-8s  %9s\n", "#", "demo", "status", "time");
  int passed = 0;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    auto& o = outcomes[i];
    passed += o.status == "ok";
    std::printf("%3zu  %-18s  %-8s  %7.2f s\n", i + 1, o.name.c_str(), o.status.c_str(), o.seconds);
  }
  std::printf("\ndemos passed: %d of %zu in %.2f s\n", passed, outcomes.size(), total);
  return passed == static_cast<int>(outcomes.size()) ? 0 : 1;
}
