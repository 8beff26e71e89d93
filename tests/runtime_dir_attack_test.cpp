// Another local user against the runtime folder (/tmp/manta-<uid>, or
// $MANTA_RUNTIME_DIR) and the token: a folder, pid file, address or token
// planted by someone else is refused with a message naming the folder (the
// cases with a second user run the attacker as uid 65534 with setpriv, and
// need root); `manta stop` signals only the daemons `manta start` recorded;
// a head started by `manta start` shows no token on its command line.
//
// The test binary is also the head and the worker nodes of the clusters it
// starts (single-binary mode), and the worker `manta start` runs.


#include <manta/manta.hpp>

#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/shell_command.hpp"

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;

using manta_test::contains;
using manta_test::run;

std::string manta_exe() {
  auto exe = std::getenv("MANTA_EXE");
  REQUIRE(exe != nullptr);
  return exe;
}

/// A path under /tmp for this test and `what`, removed when it goes.
struct scratch {
  std::string path;
  explicit scratch(const std::string& what)
    : path("/tmp/manta-attack-" + std::to_string(::getpid()) + "-" + what) {
    std::system(("rm -rf " + path).c_str());
  }
  ~scratch() { std::system(("rm -rf " + path).c_str()); }
};

/// Why the attacker cases cannot run here, or "" if they can: they need
/// root (to run a command as another user) and setpriv.
std::string no_second_user() {
  if (::geteuid() != 0)
    return "not root, so no command can run as a second user";
  if (run("setpriv --version").first != 0)
    return "setpriv (util-linux) is not installed";
  return {};
}

/// Runs `script` with sh as uid/gid 65534 (nobody), no supplementary groups.
void as_attacker(const std::string& script) {
  auto [rc, out] = run("setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '" + script + "'");
  INFO(out);
  REQUIRE(rc == 0);
}

/// A process of this user that is not Manta's (`sleep`), reaped on exit.
struct victim {
  pid_t pid;
  victim() {
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Until it runs `sleep` (its command line is then ours to check).
    for (int i = 0;
         i < 500
         && manta_test::read_all("/proc/" + std::to_string(pid) + "/cmdline").rfind("sleep", 0)
              != 0;
         ++i)
      std::this_thread::sleep_for(10ms);
  }
  bool alive() const { return ::waitpid(pid, nullptr, WNOHANG) == 0; }
  ~victim() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

/// Field 22 of /proc/<pid>/stat, the process's start time.
std::string start_time(pid_t pid) {
  auto stat = manta_test::read_all("/proc/" + std::to_string(pid) + "/stat");
  auto rest = stat.substr(stat.rfind(')') + 2);
  for (int field = 3; field < 22; ++field)
    rest = rest.substr(rest.find(' ') + 1);
  return rest.substr(0, rest.find(' '));
}

/// Whether `pid` ended: gone, or a zombie (a daemon whose parent, `manta
/// start`, exited may never be reaped here).
bool ended(pid_t pid) {
  auto stat = manta_test::read_all("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close == std::string::npos || stat[close + 2] == 'Z' || stat[close + 2] == 'X';
}

void write(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream{path} << text;
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

/// Joins the cluster at "auto" with the runtime folder `dir`; the error, or
/// "" if it joined (then it leaves again).
std::string join_auto(const std::string& dir) {
  ::setenv("MANTA_RUNTIME_DIR", dir.c_str(), 1);
  manta::init_options opts;
  opts.address = "auto";
  opts.num_cpus = 0;
  std::string err;
  try {
    manta::init(opts);
    manta::shutdown();
  } catch (const std::exception& e) {
    err = e.what();
  }
  ::unsetenv("MANTA_RUNTIME_DIR");
  return err.empty() ? "" : err;
}

} // namespace

TEST_CASE("a runtime folder another user made is refused by manta stop, which signals nothing") {
  if (auto why = no_second_user(); !why.empty()) {
    MESSAGE("skipped: " << why);
    return;
  }
  scratch dir{"stop"};
  victim v;
  // The attacker makes the folder first and names the victim in a pid file
  // (in the format `manta start` writes).
  as_attacker("mkdir -m 0755 " + dir.path + " && echo " + std::to_string(v.pid) + " "
              + start_time(v.pid) + " > " + dir.path + "/head.pid");
  auto [rc, out] = run("MANTA_RUNTIME_DIR=" + dir.path + " " + manta_exe() + " stop");
  INFO(out);
  CHECK(rc == 1);
  CHECK(contains(out, "refusing the runtime folder " + dir.path + ": it is owned by"));
  CHECK(contains(out, "uid 65534"));
  CHECK(contains(out, "mode 0755"));
  CHECK(contains(out, "set MANTA_RUNTIME_DIR"));
  CHECK(v.alive());
  // `manta start` refuses it too, and writes nothing into it.
  std::tie(rc, out) = run("MANTA_RUNTIME_DIR=" + dir.path + " " + manta_exe()
                          + " start --head --port=0 --dashboard-port=off");
  CHECK(rc == 1);
  CHECK(contains(out, "refusing the runtime folder " + dir.path));
  CHECK(::access((dir.path + "/head.log").c_str(), F_OK) != 0);
}

TEST_CASE("--address=auto refuses an address and token another user planted") {
  if (auto why = no_second_user(); !why.empty()) {
    MESSAGE("skipped: " << why);
    return;
  }
  // The attacker's cluster (here started by the test, as a stand-in).
  manta::local_cluster theirs;
  scratch dir{"auto"};
  as_attacker("mkdir -m 0755 " + dir.path + " && umask 077 && echo " + theirs.address() + " > "
              + dir.path + "/head.address && echo " + theirs.token() + " > " + dir.path
              + "/head.token");
  auto err = join_auto(dir.path);
  INFO(err);
  CHECK(contains(err, "refusing the runtime folder " + dir.path + ": it is owned by"));
  CHECK(contains(err, "uid 65534"));
  // So do `manta start` (a worker) and `manta status`.
  auto [rc, out] = run("MANTA_RUNTIME_DIR=" + dir.path + " " + manta_exe()
                       + " start --address=auto -- /bin/true");
  CHECK(rc == 1);
  CHECK(contains(out, "refusing the runtime folder " + dir.path));
  std::tie(rc, out) = run("MANTA_RUNTIME_DIR=" + dir.path + " " + manta_exe() + " status");
  CHECK(rc == 1);
  CHECK(contains(out, "refusing the runtime folder " + dir.path));
}

TEST_CASE("in this user's folder, an address or token file of another owner or mode is refused") {
  manta::local_cluster theirs;
  scratch dir{"files"};
  REQUIRE(::mkdir(dir.path.c_str(), 0700) == 0);
  write(dir.path + "/head.address", theirs.address() + "\n");
  write(dir.path + "/head.token", theirs.token() + "\n", 0644);
  auto err = join_auto(dir.path);
  CHECK(contains(err, "refusing " + dir.path + "/head.token: its mode is 0644"));
  write(dir.path + "/head.token", theirs.token() + "\n");
  write(dir.path + "/head.address", theirs.address() + "\n", 0666);
  err = join_auto(dir.path);
  CHECK(contains(err, "refusing " + dir.path + "/head.address: its mode is 0666"));
  if (::geteuid() == 0) {
    write(dir.path + "/head.address", theirs.address() + "\n");
    REQUIRE(::chown((dir.path + "/head.token").c_str(), 65534, 65534) == 0);
    err = join_auto(dir.path);
    CHECK(contains(err, "refusing " + dir.path + "/head.token: it is owned by"));
    CHECK(contains(err, "uid 65534"));
  } else {
    MESSAGE("the case of a token file owned by another user is skipped: not root");
  }
}

TEST_CASE("a runtime folder writable by others, or a link, is refused") {
  scratch dir{"open"};
  REQUIRE(::mkdir(dir.path.c_str(), 0700) == 0);
  REQUIRE(::chmod(dir.path.c_str(), 0777) == 0);
  victim v;
  write(dir.path + "/head.pid", std::to_string(v.pid) + " " + start_time(v.pid) + "\n");
  auto [rc, out] = run("MANTA_RUNTIME_DIR=" + dir.path + " " + manta_exe() + " stop");
  INFO(out);
  CHECK(rc == 1);
  CHECK(contains(out, "refusing the runtime folder " + dir.path
                        + ": it is writable by every "
                          "user"));
  CHECK(contains(out, "mode 0777"));
  CHECK(contains(out, "chmod 700 " + dir.path));
  CHECK(v.alive());
  // A link to a private folder: whoever made the link chose where it leads.
  REQUIRE(::chmod(dir.path.c_str(), 0700) == 0);
  scratch link{"link"};
  REQUIRE(::symlink(dir.path.c_str(), link.path.c_str()) == 0);
  std::tie(rc, out) = run("MANTA_RUNTIME_DIR=" + link.path + " " + manta_exe() + " stop");
  CHECK(rc == 1);
  CHECK(contains(out, "refusing the runtime folder " + link.path + ": it is a symbolic link"));
  CHECK(v.alive());
}

TEST_CASE("manta stop signals a pid only if it is the daemon manta start recorded") {
  scratch dir{"pids"};
  REQUIRE(::mkdir(dir.path.c_str(), 0700) == 0);
  victim v;
  // A pid alone (what a stale file of old held): which process is that now?
  write(dir.path + "/head.pid", std::to_string(v.pid) + "\n");
  // The right start time, but not a Manta daemon.
  write(dir.path + "/worker-1.pid", std::to_string(v.pid) + " " + start_time(v.pid) + "\n");
  // The right pid, another start time: the daemon ended, the number is reused.
  write(dir.path + "/worker-2.pid", std::to_string(v.pid) + " 1\n");
  auto [rc, out] = run("MANTA_RUNTIME_DIR=" + dir.path + " " + manta_exe() + " stop");
  INFO(out);
  CHECK(rc == 1);
  CHECK(contains(out, "not signalling what " + dir.path + "/head.pid names: " + dir.path
                        + "/head.pid: it does not hold 'PID START_TIME'"));
  CHECK(contains(out, "not signalling what " + dir.path + "/worker-1.pid names: process "
                        + std::to_string(v.pid) + " does not run as a Manta daemon"));
  CHECK(contains(out, "stopped 0 process(es)"));
  CHECK(v.alive());
  // The stale file went; the others stay for the user to look at.
  CHECK(::access((dir.path + "/worker-2.pid").c_str(), F_OK) != 0);
  CHECK(::access((dir.path + "/worker-1.pid").c_str(), F_OK) == 0);
}

TEST_CASE("manta start takes the token from a file, and the head's command line shows none") {
  scratch dir{"start"};
  scratch token_file{"token"};
  std::string token = "token-for-the-ps-test-" + std::to_string(::getpid());
  write(token_file.path, token + "\n");
  auto env = "MANTA_RUNTIME_DIR=" + dir.path + " ";
  auto exe = manta_exe();
  // On a command line it is refused, and not repeated.
  auto [rc, out] = run(env + exe + " start --head --token=" + token);
  CHECK(rc == 2);
  CHECK(contains(out, "--token is refused on a command line"));
  CHECK(contains(out, "--token-file=FILE"));
  CHECK_FALSE(contains(out, token));
  // A token file others can read is refused too.
  ::chmod(token_file.path.c_str(), 0644);
  std::tie(rc, out) = run(env + exe + " start --head --token-file=" + token_file.path);
  CHECK(rc == 2);
  CHECK(contains(out, "its mode is 0644"));
  ::chmod(token_file.path.c_str(), 0600);
  std::tie(rc, out) = run(
    env + exe + " start --head --port=0 --dashboard-port=off --token-file=" + token_file.path);
  INFO(out);
  REQUIRE(rc == 0);
  auto at = out.find("(pid ");
  REQUIRE(at != std::string::npos);
  auto head = std::stoi(out.substr(at + 5));
  auto cmdline = manta_test::read_all("/proc/" + std::to_string(head) + "/cmdline");
  CHECK(contains(cmdline, "--head"));
  CHECK_FALSE(contains(cmdline, token));
  CHECK(manta_test::read_all(dir.path + "/head.token") == token + "\n");
  struct stat st {};
  REQUIRE(::stat(dir.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(::stat((dir.path + "/head.address").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // A worker node (this binary) joins with --address=auto; `manta status`
  // reads the same files; `manta stop` stops both daemons it recorded.
  char self[4096] = {};
  REQUIRE(::readlink("/proc/self/exe", self, sizeof self - 1) > 0);
  std::tie(rc, out) = run(env + exe + " start --address=auto --num-cpus=1 -- " + self);
  REQUIRE(rc == 0);
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!contains(out, "1 worker node(s)") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    std::tie(rc, out) = run(env + exe + " status");
  }
  CHECK(contains(out, "1 worker node(s)"));
  std::tie(rc, out) = run(env + exe + " stop");
  INFO(out);
  CHECK(rc == 0);
  CHECK(contains(out, "stopped 2 process(es)"));
  CHECK(ended(head));
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
