// Bad input from users and peers gets an error that names the problem and
// says what to do: command-line flags and addresses, `manta start` flags,
// and TaskSpecs a node manager cannot run (malformed, unknown function,
// another signature, a duplicate id, a demand beyond the node).

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/cluster.hpp>
#include <manta/detail/cluster.hpp>
#include <manta/detail/function_registry.hpp>
#include <manta/detail/runtime.hpp>
#include <manta/detail/wire.hpp>
#include <manta/manta.hpp>

#include "actors/atoms.hpp"

#include <caf/all.hpp>

#include <array>
#include <fstream>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

int add(int a, int b) {
  return a + b;
}
int nap(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
MANTA_REMOTE(add, nap);

/// Parses a command line given as strings.
manta::detail::command_line parse(std::vector<std::string> args) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return manta::detail::parse_command_line(static_cast<int>(argv.size()), argv.data());
}

/// The message of what `f` throws, or "" if it throws nothing.
template <class F>
std::string thrown(F f) {
  try {
    f();
  } catch (const manta::invalid_argument_error& e) {
    return e.what();
  }
  return {};
}

/// Runs a shell command; returns its exit status and output (stdout+stderr).
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 512> buf;
  while (auto n = std::fread(buf.data(), 1, buf.size(), p))
    out.append(buf.data(), n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

} // namespace

TEST_CASE("bad flags are refused with the flag, the value and what is expected") {
  CHECK(thrown([] { parse({"--manta-port=99999"}); }).find("from 0 (any free port) to 65535")
        != std::string::npos);
  CHECK(thrown([] { parse({"--manta-port=-1"}); }).find("'-1'") != std::string::npos);
  CHECK(thrown([] { parse({"--manta-port=80x"}); }) != "");
  CHECK(parse({"--manta-port=65535"}).port == 65535);
  CHECK(thrown([] { parse({"--num-cpus=lots"}); }).find("--num-cpus") != std::string::npos);
  CHECK(thrown([] { parse({"--resources=GPU"}); }).find("NAME:AMOUNT") != std::string::npos);
  CHECK(thrown([] { parse({"--object-store-memory=12Q"}); }).find("512M") != std::string::npos);
  CHECK(thrown([] { parse({"--manta-bogus"}); }).find("unknown option") != std::string::npos);
  CHECK(thrown([] { parse({"--address"}); }).find("needs a value") != std::string::npos);
  // Durations need their unit and a sane range.
  CHECK(parse({"--connection-timeout=1.5s"}).opts.connection_timeout
        == std::chrono::milliseconds{1500});
  CHECK(parse({"--connection-timeout=250ms"}).opts.connection_timeout
        == std::chrono::milliseconds{250});
  CHECK(parse({}).opts.connection_timeout == manta::default_connection_timeout);
  for (auto bad : {"4", "10ms", "2h", "-1s", "fast", "4 s"})
    CHECK(thrown([&] { parse({std::string{"--connection-timeout="} + bad}); })
            .find("--connection-timeout expects a duration from 100ms to 1h") != std::string::npos);
}

/// Config files written by a test case, removed when it ends.
struct config_files {
  std::vector<std::string> paths;
  /// Writes `text` to a fresh file; returns its path.
  std::string operator()(const std::string& text) {
    auto path = "/tmp/manta-config-test-" + std::to_string(::getpid()) + "-"
                + std::to_string(paths.size()) + ".conf";
    std::ofstream{path} << text;
    paths.push_back(path);
    return path;
  }
  ~config_files() {
    for (auto& p : paths)
      std::remove(p.c_str());
  }
};

TEST_CASE("a config file sets options; flags override it; bad keys and values name the line") {
  config_files config_file;
  auto good = config_file("# a node\nnum-cpus = 3\n  resources=GPU:2 # two\n\ntask-events = off\n");
  auto cl = parse({"--config=" + good});
  CHECK(cl.opts.num_cpus == 3);
  CHECK(cl.opts.resources.at("GPU") == 2);
  CHECK(cl.opts.task_events == false);
  CHECK(parse({"--config", good, "--num-cpus=5"}).opts.num_cpus == 5);
  CHECK(parse({"--num-cpus=5", "--config=" + good}).opts.num_cpus == 5);

  auto typo = config_file("num-cpus = 2\nnum-cpu = 4\n");
  auto why = thrown([&] { parse({"--config=" + typo}); });
  CHECK(why.find(typo + ":2") != std::string::npos);
  CHECK(why.find("unknown key 'num-cpu'") != std::string::npos);
  CHECK(why.find("--num-cpus") != std::string::npos); // the hint lists the keys
  why = thrown([&] { parse({"--config=" + config_file("num-cpus = lots\n")}); });
  CHECK(why.find(":1: num-cpus") != std::string::npos);
  CHECK(why.find("'lots'") != std::string::npos);
  CHECK(thrown([&] { parse({"--config=" + config_file("num-cpus\n")}); })
          .find("expected 'key = value'") != std::string::npos);
  CHECK(thrown([&] { parse({"--config=" + config_file("num-cpus=1\nnum-cpus=2\n")}); })
          .find("given twice") != std::string::npos);
  CHECK(thrown([] { parse({"--config=/nonexistent/manta.conf"}); })
          .find("cannot read the config file '/nonexistent/manta.conf'") != std::string::npos);
  ::setenv("MANTA_CONFIG", typo.c_str(), 1);
  CHECK(thrown([] { parse({}); }).find("unknown key 'num-cpu'") != std::string::npos);
  ::unsetenv("MANTA_CONFIG");
}

TEST_CASE("bad addresses are refused with the reason and an example") {
  using manta::detail::parse_address;
  for (auto bad : {"garbage", ":80", "host:", "host:0", "host:99999", "host:12ab",
                   "host:-5", "ho st:80", "a;rm -rf:80", "host:0x50"}) {
    CAPTURE(bad);
    auto msg = thrown([&] { parse_address(bad); });
    CHECK(msg.find("bad address") != std::string::npos);
    CHECK(msg.find("127.0.0.1:6379") != std::string::npos);
  }
  CHECK(parse_address("127.0.0.1:6379") == std::pair<std::string, uint16_t>{"127.0.0.1", 6379});
  CHECK(parse_address("node-1.local:1").second == 1);
}

TEST_CASE("init with a garbage address throws before touching the network") {
  manta::init_options opts;
  opts.address = "garbage";
  CHECK(thrown([&] { manta::init(opts); }).find("no ':' before a port") != std::string::npos);
  CHECK_FALSE(manta::is_initialized());
}

TEST_CASE("an advertised address is checked, and only workers take one") {
  CHECK(parse({"--advertise-address=127.0.0.1:7000"}).opts.advertise_address
        == std::optional<std::string>{"127.0.0.1:7000"});
  manta::init_options opts;
  opts.advertise_address = "127.0.0.1:7000";
  CHECK(thrown([&] { manta::init(opts); }).find("is for worker nodes") != std::string::npos);
  CHECK_FALSE(manta::is_initialized());
  for (auto bad : {"garbage", "host:0", "host:99999", ":7000"}) {
    CAPTURE(bad);
    opts.advertise_address = bad;
    auto msg = thrown([&] { manta::detail::runtime::start(opts, /*worker=*/true); });
    CHECK(msg.find("--advertise-address expects HOST:PORT") != std::string::npos);
    CHECK(msg.find(std::string{"got '"} + bad + "'") != std::string::npos);
    CHECK_FALSE(manta::is_initialized());
  }
}

TEST_CASE("manta start refuses bad flags itself, before starting a daemon") {
  auto exe = std::getenv("MANTA_EXE");
  REQUIRE(exe != nullptr);
  auto dir = "MANTA_RUNTIME_DIR=/tmp/manta-bad-input-" + std::to_string(::getpid()) + " ";
  auto [rc, out] = run(dir + exe + " start --address=garbage -- /bin/true");
  CHECK(rc == 2);
  CHECK(out.find("bad address 'garbage'") != std::string::npos);
  std::tie(rc, out) = run(dir + exe + " start --head --port=99999");
  CHECK(rc == 2);
  CHECK(out.find("--port=99999 is not a port") != std::string::npos);
  std::tie(rc, out) = run(dir + exe + " start --head --colour=blue");
  CHECK(rc == 2);
  CHECK(out.find("unknown option '--colour=blue'") != std::string::npos);
  std::tie(rc, out) = run(dir + exe + " start --head --connection-timeout=soon");
  CHECK(rc == 2);
  CHECK(out.find("--connection-timeout expects a duration") != std::string::npos);
  std::tie(rc, out) = run(dir + exe + " status --address=nowhere:");
  CHECK(rc == 2);
  CHECK(out.find("bad address") != std::string::npos);
  std::system(("rm -rf /tmp/manta-bad-input-" + std::to_string(::getpid())).c_str());
}

// -- TaskSpecs a node manager cannot run -----------------------------------------

namespace {

namespace wire = manta::detail::wire;

/// Sends `spec` to this process's node manager, as another node would, and
/// returns the TaskResult it answers with.
wire::result_message submit(const wire::bytes& spec) {
  auto& rt = manta::detail::runtime::require("test");
  caf::scoped_actor self{rt.system()};
  self->send(rt.node_manager(), manta::actors::submit_atom::value,
             manta::detail::runtime::cluster_token(), spec);
  wire::result_message r;
  self->receive(
    [&](manta::actors::result_atom, const std::string&, const wire::bytes& bytes) {
      REQUIRE(wire::decode(bytes, r) == "");
    },
    caf::after(std::chrono::seconds(10)) >> [] { FAIL("no answer from the node manager"); });
  return r;
}

wire::task_message add_spec(uint64_t id) {
  wire::task_message t;
  t.task_id = id;
  t.function_name = "add";
  t.signature = manta::detail::find_function("add")->signature;
  t.name = "add";
  t.args = {manta::detail::encode(2), manta::detail::encode(3)};
  t.demand.cpus = 1;
  return t;
}

} // namespace

TEST_CASE("a node manager answers bad TaskSpecs with a failure, never a crash") {
  manta::init_options opts;
  opts.num_cpus = 1;
  manta::init(opts);
  SUBCASE("a good spec runs") {
    auto r = submit(wire::encode(add_spec(101)));
    REQUIRE(r.kind == wire::result_message::inline_value);
    int v = 0;
    REQUIRE(!manta::detail::decode(r.value, v));
    CHECK(v == 5);
  }
  SUBCASE("garbage bytes") {
    auto r = submit(wire::bytes(24, '\x7f'));
    REQUIRE(r.kind == wire::result_message::failure);
    CHECK(r.error.message.find("bad TaskSpec") != std::string::npos);
  }
  SUBCASE("an unknown function name") {
    auto t = add_spec(102);
    t.function_name = "subtract";
    auto r = submit(wire::encode(t));
    REQUIRE(r.kind == wire::result_message::failure);
    CHECK(r.error.type_name == "manta::unknown_function_error");
    CHECK(r.error.message.find("MANTA_REMOTE(subtract)") != std::string::npos);
  }
  SUBCASE("caller and callee disagree on the signature") {
    auto t = add_spec(103);
    t.signature = typeid(double (*)(double, double)).name();
    t.args = {manta::detail::encode(2.0), manta::detail::encode(3.0)};
    auto r = submit(wire::encode(t));
    REQUIRE(r.kind == wire::result_message::failure);
    CHECK(r.error.type_name == "manta::unknown_function_error");
    CHECK(r.error.message.find("but the owner called it as") != std::string::npos);
    CHECK(r.error.message.find("double") != std::string::npos);
  }
  SUBCASE("arguments that do not decode as the parameters") {
    auto t = add_spec(104);
    t.args = {manta::detail::encode(std::string{"two"}), manta::detail::encode(3)};
    auto r = submit(wire::encode(t));
    REQUIRE(r.kind == wire::result_message::failure);
    CHECK(r.error.message.find("argument 1 does not decode") != std::string::npos);
  }
  SUBCASE("a second spec with the id of a task still running") {
    auto& rt = manta::detail::runtime::require("test");
    caf::scoped_actor self{rt.system()};
    wire::task_message t;
    t.task_id = 106;
    t.function_name = "nap";
    t.signature = manta::detail::find_function("nap")->signature;
    t.args = {manta::detail::encode(300)};
    t.demand.cpus = 1;
    auto token = manta::detail::runtime::cluster_token();
    caf::scoped_actor other{rt.system()};
    // Another owner's spec with the id is refused; the same owner's second
    // spec (an owner re-sends after a reconnect) is answered by the run
    // going on: one result, not two runs.
    self->send(rt.node_manager(), manta::actors::submit_atom::value, token, wire::encode(t));
    other->send(rt.node_manager(), manta::actors::submit_atom::value, token, wire::encode(t));
    self->send(rt.node_manager(), manta::actors::submit_atom::value, token, wire::encode(t));
    auto answers = [](caf::scoped_actor& who, std::chrono::milliseconds wait) {
      std::vector<wire::result_message> results;
      bool more = true;
      while (more)
        who->receive(
          [&](manta::actors::result_atom, const std::string&, const wire::bytes& bytes) {
            results.emplace_back();
            REQUIRE(wire::decode(bytes, results.back()) == "");
          },
          caf::after(wait) >> [&] { more = false; });
      return results;
    };
    auto refused = answers(other, std::chrono::milliseconds(1000));
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].kind == wire::result_message::failure);
    CHECK(refused[0].error.message.find("already running") != std::string::npos);
    CHECK(refused[0].error.message.find("another owner") != std::string::npos);
    auto ran = answers(self, std::chrono::milliseconds(1000)); // the nap takes 300 ms
    REQUIRE(ran.size() == 1);
    CHECK(ran[0].kind == wire::result_message::inline_value);
  }
  SUBCASE("a demand beyond the whole node") {
    auto t = add_spec(105);
    t.demand.custom = {{"GPU", 8}};
    auto r = submit(wire::encode(t));
    REQUIRE(r.kind == wire::result_message::failure);
    CHECK(r.error.type_name == "manta::infeasible_task_error");
    CHECK(r.error.message.find("GPU") != std::string::npos);
  }
  manta::shutdown();
}
