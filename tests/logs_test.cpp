// Log capture: what tasks and actor calls print to std::cout reaches the
// stream prefixed with who printed it, whole lines even from concurrent
// tasks, and is kept per task; the driver's own output is untouched.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// Everything std::cout receives (installed by main before the first init,
/// so the runtime's capture writes here); doctest reports to the terminal.
std::stringstream& sink() {
  static std::stringstream s;
  return s;
}

/// A runtime with 2 CPUs whose output starts in an empty sink.
runtime_guard logged_runtime(bool prefix) {
  sink().str("");
  auto opts = runtime_guard::with_cpus(2);
  opts.log_prefix = prefix;
  return runtime_guard{std::move(opts)};
}

int say(int n) {
  for (int i = 0; i < n; ++i)
    std::cout << "line " << i << " of " << n << " from a task\n";
  return n;
}

/// std::cerr flushes after every `<<`; the line is still one line. The
/// last output has no newline: it becomes the task's last line.
int mixed(int x) {
  std::cerr << "value is " << x << "\n";
  std::cout << "done with " << x << std::flush;
  return x;
}

MANTA_REMOTE(say, mixed);

class talker {
public:
  int talk(int x) {
    std::cout << "actor says " << x << std::endl;
    return x;
  }
};
MANTA_ACTOR(talker, &talker::talk);

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    out.push_back(line);
  return out;
}

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

} // namespace

TEST_CASE("task and actor output is prefixed and kept per task") {
  auto rt = logged_runtime(true);
  std::cout << "driver line\n";
  auto r = manta::task(say).remote(2);
  CHECK(manta::get(r, 10s) == 2);
  auto a = manta::actor<talker>().name("t1").remote();
  auto c = a.call(&talker::talk).remote(7);
  CHECK(manta::get(c, 10s) == 7);
  auto text = sink().str();
  CHECK(has(text, "driver line\n"));
  CHECK(!has(text, ") driver line"));
  CHECK(has(text, "(say node-0 (pid "));
  CHECK(has(text, ")) line 1 of 2 from a task\n"));
  CHECK(has(text, "(talker 't1'.talk node-0 (pid "));
  CHECK(has(text, ")) actor says 7\n"));
  CHECK(manta::task_logs(r.id())
        == std::vector<std::string>{"line 0 of 2 from a task", "line 1 of 2 from a task"});
  CHECK(manta::task_logs(c.id()) == std::vector<std::string>{"actor says 7"});
}

TEST_CASE("lines of concurrent tasks never mix") {
  auto rt = logged_runtime(true);
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 8; ++i)
    refs.push_back(manta::task(say).remote(200));
  manta::get(refs, 10s);
  size_t task_lines = 0;
  for (auto& l : lines(sink().str())) {
    if (!has(l, "from a task"))
      continue;
    ++task_lines;
    REQUIRE_MESSAGE(l.rfind("(say node-0 (pid ", 0) == 0, "a mixed line: " << l);
    CHECK(l.find("from a task") + 11 == l.size());
  }
  CHECK(task_lines == 8 * 200);
  for (auto& ref : refs)
    CHECK(manta::task_logs(ref.id()).size() == 200);
}

TEST_CASE("with log_prefix off output passes through unchanged") {
  auto rt = logged_runtime(false);
  auto r = manta::task(say).remote(1);
  manta::get(r, 10s);
  CHECK(sink().str() == "line 0 of 1 from a task\n");
  CHECK(manta::task_logs(r.id()).empty());
}

TEST_CASE("a flush does not split a line; what is left at the end is the last line") {
  auto rt = logged_runtime(true);
  auto r = manta::task(mixed).remote(7);
  CHECK(manta::get(r, 10s) == 7);
  std::vector<std::string> expect{"value is 7", "done with 7"};
  for (int i = 0; i < 100 && manta::task_logs(r.id()) != expect; ++i)
    std::this_thread::sleep_for(10ms); // the last line is kept just after the seal
  CHECK(manta::task_logs(r.id()) == expect);
}

int main(int argc, char** argv) {
  std::ostream terminal{std::cout.rdbuf()};
  std::cout.rdbuf(sink().rdbuf());
  doctest::Context ctx{argc, argv};
  ctx.setCout(&terminal);
  int rc = ctx.run();
  std::cout.rdbuf(terminal.rdbuf());
  return rc;
}
