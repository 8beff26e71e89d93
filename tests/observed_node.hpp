#pragma once

// Starts tests/observed_node as a child process and reads where it serves
// what (used by cli_test). The child holds its workload until its stdin is
// closed; the destructor closes it, waits, and kills the child if it does
// not exit in 10 s.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

class observed_node {
public:
  /// Starts the program at $OBSERVED_NODE and reads its "key value" lines
  /// up to "ready".
  observed_node() {
    auto* exe = std::getenv("OBSERVED_NODE");
    if (exe == nullptr)
      throw std::runtime_error("OBSERVED_NODE is not set (run through meson test)");
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0)
      throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::close(in[1]);
      ::close(out[0]);
      ::execl(exe, exe, static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    out_ = ::fdopen(out[0], "r");
    char line[512];
    while (std::fgets(line, sizeof(line), out_) != nullptr) {
      std::string s{line};
      while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
      if (s == "ready")
        return;
      auto space = s.find(' ');
      if (space != std::string::npos)
        info_[s.substr(0, space)] = s.substr(space + 1);
    }
    throw std::runtime_error("the observed node exited before it was ready");
  }

  ~observed_node() {
    ::close(stdin_);
    for (int i = 0; i < 1000; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        std::fclose(out_);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    std::fclose(out_);
  }

  observed_node(const observed_node&) = delete;
  observed_node& operator=(const observed_node&) = delete;

  /// "dashboard" (its URL), "blocked", "pending", "object" (ids).
  const std::string& operator[](const std::string& key) const { return info_.at(key); }

  /// "127.0.0.1:PORT".
  std::string address() const {
    auto url = info_.at("dashboard"); // http://127.0.0.1:PORT/
    return url.substr(7, url.size() - 8);
  }

private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  FILE* out_ = nullptr;
  std::map<std::string, std::string> info_;
};
