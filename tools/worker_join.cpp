#include "tools/worker_join.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace manta::tools {

namespace {

std::string read_log(const std::string& log) {
  std::ifstream in{log};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// The last line of `text` starting with "manta" (what Manta said), or "".
std::string last_manta_line(const std::string& text) {
  std::istringstream in{text};
  std::string line, last;
  while (std::getline(in, line))
    if (line.rfind("manta", 0) == 0)
      last = line;
  return last;
}

const char* const init_fix =
  "a worker program must pass its command line to Manta first thing in main: "
  "manta::init(argc, argv) (or manta::worker_main(argc, argv)), which turns it into a worker "
  "when `manta start` adds --manta-worker; a program that never calls it, or calls "
  "manta::init() without argc and argv, runs as itself and never joins";

} // namespace

bool await_worker_join(pid_t pid, const std::string& log) {
  auto until = std::chrono::steady_clock::now() + worker_join_wait;
  for (;;) {
    auto text = read_log(log);
    if (text.find(" joined the cluster at ") != std::string::npos)
      return true;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      text = read_log(log); // what it wrote before exiting
      auto said = last_manta_line(text);
      auto how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                   : "was killed by signal " + std::to_string(WTERMSIG(status));
      if (!said.empty())
        std::fprintf(stderr,
                     "manta start: the worker (pid %d) %s before joining the cluster: "
                     "%s\nsee %s\n",
                     pid, how.c_str(), said.c_str(), log.c_str());
      else
        std::fprintf(stderr,
                     "manta start: the worker (pid %d) %s without joining the cluster "
                     "and without a word from Manta: %s; see %s\n",
                     pid, how.c_str(), init_fix, log.c_str());
      return false;
    }
    if (std::chrono::steady_clock::now() >= until) {
      if (!last_manta_line(text).empty()) // still trying (the head is slow or away)
        return std::fprintf(stderr,
                            "manta start: the worker (pid %d) has not joined after %lld s; "
                            "see %s\n",
                            pid, static_cast<long long>(worker_join_wait.count()), log.c_str()),
               true;
      std::fprintf(stderr,
                   "manta start: the worker (pid %d) runs but has not joined after %lld s "
                   "and printed nothing from Manta: %s; it is left running (`manta stop` "
                   "stops it); see %s\n",
                   pid, static_cast<long long>(worker_join_wait.count()), init_fix, log.c_str());
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string generic_worker() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  auto worker = self.parent_path() / "manta-worker";
  if (!ec && ::access(worker.c_str(), X_OK) == 0)
    return worker.string();
  std::fprintf(stderr,
               "manta start: no program follows -- and the generic worker %s is "
               "missing, so this node could run no job's code; install manta-worker "
               "beside manta, or give the worker program that registers your functions: "
               "manta start --address=HOST:PORT -- ./your_program\n",
               worker.c_str());
  return {};
}

} // namespace manta::tools
