#include "tools/sim_commands.hpp"

#include "manta/sim/sim_config.hpp"
#include "manta/errors.hpp"
#include "tools/command_help.hpp"
#include "tools/command_line.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace manta::tools {

namespace {

struct child {
  uint64_t seed = 0;
  pid_t pid = -1;
  std::string log;
  std::chrono::steady_clock::time_point deadline;
  bool timed_out = false;
};

bool parse_u64(std::string_view s, uint64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

/// The last `n` bytes of a file, for a failed run's report.
std::string tail_of(const std::string& path, size_t n) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream all;
  all << in.rdbuf();
  auto text = all.str();
  return text.size() > n ? "..." + text.substr(text.size() - n) : text;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty()
      && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789-_=./:,")
           == std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

/// PROGRAM with the simulation's flags right after it, then its own args.
std::vector<std::string> command_for(const std::vector<std::string>& program, uint64_t seed) {
  std::vector<std::string> cmd{program[0], "--simulate", "--seed=" + std::to_string(seed)};
  cmd.insert(cmd.end(), program.begin() + 1, program.end());
  return cmd;
}

pid_t spawn(const std::vector<std::string>& cmd, const std::string& log) {
  pid_t pid = ::fork();
  if (pid != 0)
    return pid;
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::close(fd);
  }
  std::vector<char*> argv;
  for (auto& a : cmd)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  std::fprintf(stderr, "manta sim: cannot run %s\n", argv[0]);
  ::_exit(127);
}

} // namespace

int sim_main(int argc, char** argv) {
  uint64_t first = 1, last = 100;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  std::chrono::nanoseconds timeout = std::chrono::seconds{60};
  auto args = parse_command("sim", argc, argv);
  if (!args.error.empty())
    return usage_error("sim", args.error);
  auto& program = args.program;
  try {
    if (args.has("seeds")) {
      auto seeds = args.value("seeds");
      std::string_view v{seeds};
      auto dots = v.find("..");
      bool ok = dots == std::string_view::npos
                  ? parse_u64(v, first) && parse_u64(v, last)
                  : parse_u64(v.substr(0, dots), first) && parse_u64(v.substr(dots + 2), last);
      if (!ok || first > last)
        return usage_error("sim",
                           "--seeds: expected A..B (A <= B) or N, got '" + std::string{v} + "'");
    }
    if (args.has("jobs")) {
      uint64_t n = 0;
      if (auto v = args.value("jobs"); !parse_u64(v, n) || n == 0 || n > 1024)
        return usage_error("sim", "--jobs: expected 1 to 1024, got '" + v + "'");
      jobs = static_cast<unsigned>(n);
    }
    if (args.has("timeout"))
      timeout = detail::parse_sim_duration("--timeout", args.value("timeout"));
  } catch (const manta::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return exit_usage;
  }
  if (program.empty()) {
    std::fprintf(stderr, "manta sim: no program; give it after --: manta sim --seeds=1..100 -- "
                         "./app ARGS\n");
    return exit_usage;
  }
  char dir_template[] = "/tmp/manta-sim-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) {
    std::perror("manta sim: mkdtemp");
    return exit_failed;
  }
  std::string dir = dir_template;
  std::map<uint64_t, std::string> failed; // seed -> why
  std::vector<child> running;
  uint64_t next = first, passed = 0;
  auto total = last - first + 1;
  while (next <= last || !running.empty()) {
    while (next <= last && running.size() < jobs) {
      child c;
      c.seed = next++;
      c.log = dir + "/seed-" + std::to_string(c.seed) + ".log";
      c.pid = spawn(command_for(program, c.seed), c.log);
      c.deadline = std::chrono::steady_clock::now() + timeout;
      running.push_back(std::move(c));
    }
    bool reaped = false;
    for (auto it = running.begin(); it != running.end();) {
      int status = 0;
      pid_t r = ::waitpid(it->pid, &status, WNOHANG);
      if (r == 0) {
        if (std::chrono::steady_clock::now() > it->deadline && !it->timed_out) {
          ::kill(it->pid, SIGKILL);
          it->timed_out = true;
        }
        ++it;
        continue;
      }
      reaped = true;
      bool ok = r == it->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (ok) {
        ++passed;
      } else {
        std::string why = it->timed_out         ? "timed out"
                          : r != it->pid        ? "lost"
                          : WIFEXITED(status)   ? "exit " + std::to_string(WEXITSTATUS(status))
                          : WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                                : "failed";
        failed[it->seed] = why + "\n" + tail_of(it->log, 600);
      }
      ::unlink(it->log.c_str());
      it = running.erase(it);
    }
    if (!reaped)
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  ::rmdir(dir.c_str());
  std::printf("manta sim: seeds %llu..%llu: %llu passed, %zu failed\n",
              static_cast<unsigned long long>(first), static_cast<unsigned long long>(last),
              static_cast<unsigned long long>(passed), failed.size());
  (void)total;
  for (auto& [seed, why] : failed)
    std::printf("seed %llu: %s\n", static_cast<unsigned long long>(seed), why.c_str());
  if (!failed.empty()) {
    std::string replay;
    for (auto& part : command_for(program, failed.begin()->first))
      replay += (replay.empty() ? "" : " ") + shell_quote(part);
    std::printf("replay: %s\n", replay.c_str());
    return exit_failed;
  }
  return exit_ok;
}

} // namespace manta::tools
