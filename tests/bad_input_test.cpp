// Bad input from users and peers gets an error that names the problem and
// says what to do: command-line flags and addresses, `manta start` flags,
// and TaskSpecs a node manager cannot run (malformed, unknown function,
// another signature, a duplicate id, a demand beyond the node).

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN

#include <doctest/doctest.h>
#include <manta/cluster.hpp>
#include <manta/cluster/cluster.hpp>
#include <manta/sched/function_registry.hpp>
#include <manta/core/runtime.hpp>
#include <manta/net/wire.hpp>
#include <manta/manta.hpp>

#include "actors/cluster_atoms.hpp"
#include "tests/parsed_flags.hpp"
#include "tests/shell_command.hpp"
#include "tests/task_answer.hpp"

#include <caf/all.hpp>

#include <array>
#include <fstream>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
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

struct tally {
  int n = 0;
  int bump() { return ++n; }
};
MANTA_ACTOR(tally, &tally::bump);

using manta_test::parse;
using manta_test::run;
using manta_test::thrown;

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
    CHECK(thrown([&] {
            parse({std::string{"--connection-timeout="} + bad});
          }).find("--connection-timeout expects a duration from 100ms to 1h")
          != std::string::npos);
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
  CHECK(why.find(":1: num-cpus expects a non-negative decimal number") != std::string::npos);
  CHECK(why.find("lots") == std::string::npos); // a value in a file is never shown
  CHECK(
    thrown([&] { parse({"--config=" + config_file("num-cpus\n")}); }).find("expected 'key = value'")
    != std::string::npos);
  CHECK(thrown([&] {
          parse({"--config=" + config_file("num-cpus=1\nnum-cpus=2\n")});
        }).find("given twice")
        != std::string::npos);
  CHECK(thrown([] { parse({"--config=/nonexistent/manta.conf"}); })
          .find("the config file (given by --config or MANTA_CONFIG): cannot read "
                "/nonexistent/manta.conf: No such file")
        != std::string::npos);
  ::setenv("MANTA_CONFIG", typo.c_str(), 1);
  CHECK(thrown([] { parse({}); }).find("unknown key 'num-cpu'") != std::string::npos);
  ::unsetenv("MANTA_CONFIG");
}

TEST_CASE("numbers are plain decimals, and a resource is given once") {
  for (auto bad : {"0x10", "1e3", "inf", "nan", "+4", "-1", " 4", "4 ", "1.2.3", ""}) {
    CAPTURE(bad);
    auto why = thrown([&] { parse({std::string{"--num-cpus="} + bad}); });
    CHECK(why.find("--num-cpus expects a non-negative decimal number") != std::string::npos);
  }
  CHECK(parse({"--num-cpus=0.5"}).opts.num_cpus == 0.5);
  CHECK(parse({"--num-cpus=16"}).opts.num_cpus == 16);
  CHECK(thrown([] { parse({"--resources=GPU:0x1"}); }).find("decimal") != std::string::npos);
  CHECK(thrown([] { parse({"--object-store-memory=0x10M"}); }).find("512M") != std::string::npos);
  CHECK(thrown([] { parse({"--object-store-memory=1e3"}); }).find("512M") != std::string::npos);
  CHECK(parse({"--object-store-memory=1.5K"}).opts.object_store_memory == size_t{1536});
  CHECK(thrown([] { parse({"--connection-timeout=0x10s"}); }).find("duration")
        != std::string::npos);
  CHECK(thrown([] { parse({"--manta-port=+80"}); }).find("'+80'") != std::string::npos);
  CHECK(thrown([] { parse({"--manta-port= 80"}); }).find("65535") != std::string::npos);
  auto why = thrown([] { parse({"--resources=GPU:1,disk:2,GPU:2"}); });
  CHECK(why.find("--resources names the resource 'GPU' twice") != std::string::npos);
  CHECK(why.find("whole amount") != std::string::npos);
  ::setenv("MANTA_NUM_CPUS", "0x10", 1);
  CHECK(thrown([] { parse({}); }).find("MANTA_NUM_CPUS expects") != std::string::npos);
  ::unsetenv("MANTA_NUM_CPUS");
}

TEST_CASE("a config file is read only if it is a small regular file, and never echoed") {
  config_files config_file;
  // Neither a device nor a FIFO is read: /dev/zero grew a node without
  // bound, and opening a FIFO waited for a writer forever. In a child with
  // a memory limit and an alarm, so that the old behaviour fails the case
  // rather than the machine.
  auto fifo = "/tmp/manta-config-fifo-" + std::to_string(::getpid());
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (auto path : {std::string{"/dev/zero"}, fifo}) {
    CAPTURE(path);
    auto pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
#ifndef __SANITIZE_THREAD__ // TSan's shadow mappings do not fit 512 MiB of address space
      rlimit mem{512u << 20, 512u << 20};
      ::setrlimit(RLIMIT_AS, &mem);
#endif
      ::alarm(10);
      auto why = thrown([&] { parse({"--config=" + path}); });
      ::_exit(why.find(path + ": it is not a regular file") != std::string::npos ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  std::remove(fifo.c_str());
  // Larger than 1 MiB: refused with its size.
  auto big = config_file(std::string(1 << 20, '#') + "\n");
  CHECK(thrown([&] { parse({"--config=" + big}); })
          .find("it has 1048577 bytes, more than the "
                "1048576 expected")
        != std::string::npos);
  // A file that is not a config file (/etc/shadow, say) is not shown: not
  // a line without '=', not a value, not a key that is no option's name.
  auto secret = "root:$6$s3cr3tSALT$hash:19000:0:99999:7:::";
  auto why = thrown([&] { parse({"--config=" + config_file(std::string{secret} + "\n")}); });
  CHECK(why.find("expected 'key = value' (the line is not shown)") != std::string::npos);
  CHECK(why.find("s3cr3t") == std::string::npos);
  why = thrown([&] { parse({"--config=" + config_file("num-cpus = s3cr3t\n")}); });
  CHECK(why.find("s3cr3t") == std::string::npos);
  why = thrown(
    [&] { parse({"--config=" + config_file("resources = GPU:1,s3cr3t:1,s3cr3t:2\n")}); });
  CHECK(why.find("names a resource twice") != std::string::npos);
  CHECK(why.find("s3cr3t") == std::string::npos);
  why = thrown([&] { parse({"--config=" + config_file("PASSWORD$s3cr3t = x\n")}); });
  CHECK(why.find("an unknown key") != std::string::npos);
  CHECK(why.find("s3cr3t") == std::string::npos);
}

TEST_CASE("the token is refused on a command line; a token file must be the user's alone") {
  auto why = thrown([] { parse({"--token=s3cr3t-token"}); });
  CHECK(why.find("--token is refused on a command line") != std::string::npos);
  CHECK(why.find("--token-file=FILE") != std::string::npos);
  CHECK(why.find("MANTA_TOKEN") != std::string::npos);
  CHECK(why.find("s3cr3t") == std::string::npos);
  CHECK(thrown([] { parse({"--token", "s3cr3t-token"}); }).find("refused") != std::string::npos);
  config_files files;
  auto token = files("s3cr3t-token\n");
  ::chmod(token.c_str(), 0600);
  CHECK(parse({"--token-file=" + token}).opts.token == std::optional<std::string>{"s3cr3t-token"});
  ::chmod(token.c_str(), 0640);
  why = thrown([&] { parse({"--token-file=" + token}); });
  CHECK(why.find("--token-file: refusing " + token + ": its mode is 0640") != std::string::npos);
  CHECK(why.find("chmod 600") != std::string::npos);
  CHECK(thrown([] {
          parse({"--token-file=/nonexistent/token"});
        }).find("the token file /nonexistent/token does not exist")
        != std::string::npos);
  // In a config file: only if others cannot read the file.
  auto config = files("token = s3cr3t-token\n");
  ::chmod(config.c_str(), 0644);
  why = thrown([&] { parse({"--config=" + config}); });
  CHECK(why.find("a token in a file other users can read is no secret") != std::string::npos);
  CHECK(why.find("s3cr3t") == std::string::npos);
  ::chmod(config.c_str(), 0600);
  CHECK(parse({"--config=" + config}).opts.token == std::optional<std::string>{"s3cr3t-token"});
}

TEST_CASE("negative retry counts are refused") {
  manta::init_options opts;
  opts.num_cpus = 1;
  manta::init(opts);
  for (int bad : {-1, -2, -100}) {
    CAPTURE(bad);
    auto why = thrown([&] { manta::task(add).max_retries(bad).remote(1, 2); });
    CHECK(why.find("task 'add': max_retries(" + std::to_string(bad) + ") is not a count")
          != std::string::npos);
  }
  CHECK(manta::get(manta::task(add).max_retries(0).remote(1, 2)) == 3);
  auto why = thrown([] { manta::actor<tally>().max_restarts(-2).remote(); });
  CHECK(why.find("max_restarts(-2)") != std::string::npos);
  why = thrown([] { manta::actor<tally>().max_task_retries(-5).remote(); });
  CHECK(why.find("max_task_retries(-5)") != std::string::npos);
  auto ok = manta::actor<tally>().max_restarts(-1).max_task_retries(-1).remote();
  CHECK(manta::get(ok.call(&tally::bump).remote()) == 1);
  manta::shutdown();
}

TEST_CASE("bad addresses are refused with the reason and an example") {
  using manta::detail::parse_address;
  for (auto bad : {"garbage", ":80", "host:", "host:0", "host:99999", "host:12ab", "host:-5",
                   "ho st:80", "a;rm -rf:80", "host:0x50"}) {
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

TEST_CASE("--node-ip-address takes an IP address of this machine, named in every refusal") {
  CHECK(parse({"--node-ip-address=127.0.0.1"}).opts.node_ip_address
        == std::optional<std::string>{"127.0.0.1"});
  CHECK_FALSE(parse({}).opts.node_ip_address.has_value());
  for (auto [bad, why] :
       {std::pair{"head.example", "not an IP address"}, std::pair{"0.0.0.0", "listens everywhere"},
        std::pair{"192.0.2.1", "not an address of this machine"},
        std::pair{"10.1.2", "not an IP address"}}) {
    CAPTURE(bad);
    auto msg = thrown([&] { parse({std::string{"--node-ip-address="} + bad}); });
    CHECK(msg.find(std::string{"--node-ip-address="} + bad + ": " + why) != std::string::npos);
  }
  // The switch takes no value; with plain TCP a driver off loopback needs it.
  auto p = parse({"--trusted-network", "--num-cpus=2"});
  CHECK(p.opts.trusted_network);
  CHECK(p.opts.num_cpus == 2);
  manta::init_options opts;
  opts.address = "127.0.0.1:1";
  opts.token = "t";
  opts.tls.plain = true;
  opts.node_ip_address = "192.0.2.1";
  CHECK(thrown([&] { manta::init(opts); }).find("--node-ip-address=192.0.2.1: not an address")
        != std::string::npos);
  CHECK_FALSE(manta::is_initialized());
}

TEST_CASE("manta start refuses bad flags itself, before starting a daemon") {
  auto exe = std::getenv("MANTA_EXE");
  REQUIRE(exe != nullptr);
  auto dir = "MANTA_RUNTIME_DIR=/tmp/manta-bad-input-" + std::to_string(::getpid()) + " ";
  // Each: the verb and its flags, and what the refusal (exit status 2) says.
  const std::pair<const char*, const char*> refused[] = {
    {" start --address=garbage -- /bin/true", "bad address 'garbage'"},
    {" start --head --port=99999", "--port=99999 is not a port"},
    {" start --head --colour=blue", "unknown option '--colour=blue'"},
    {" start --head --connection-timeout=soon", "--connection-timeout expects a duration"},
    {" start --head --node-ip-address=192.0.2.1",
     "--node-ip-address=192.0.2.1: not an address of this machine"},
    {" start --address=127.0.0.1:1 --node-ip-address=x -- /bin/true",
     "--node-ip-address=x: not an IP address"},
    {" status --address=nowhere:", "bad address"},
    // A worker's flags are checked here too, not first by the daemon.
    {" start --address=127.0.0.1:1 --num-cpus=0x10 -- /bin/true",
     "--num-cpus expects a non-negative decimal number"},
    {" start --address=127.0.0.1:1 --num-cpus=0x10 -- /bin/true", "got '0x10'"},
    {" start --address=127.0.0.1:1 --resources=GPU:1,GPU:1 -- /bin/true",
     "names the resource 'GPU' twice"},
    // The token never on a command line.
    {" status --address=127.0.0.1:1 --token=s3cr3t", "--token is refused on a command line"},
  };
  for (auto [args, says] : refused)
    manta_test::check_answer(run(dir + exe + args), 2, says);
  // Nor in what the refusal says.
  auto [rc, out] = run(dir + exe + " start --address=127.0.0.1:1 --token=s3cr3t -- /bin/true");
  manta_test::check_answer({rc, out}, 2, "--token is refused on a command line");
  CHECK(out.find("s3cr3t") == std::string::npos);
  // Whole runs only (a filter that selects nothing keeps the old behaviour,
  // one run of nothing, short).
  for (auto bad : {"-1", "0", "0x10", "lots", "5000"}) {
    manta_test::check_answer(
      run(std::string{exe} + " microbenchmark --filter=no-such-metric --runs=" + bad), 2,
      std::string{"--runs expects a whole number of runs from 1 to 1000, got '"} + bad + "'");
  }
  for (auto bad : {"-1", "nan", "inf", "1s", "61", ""}) {
    manta_test::check_answer(
      run(std::string{exe} + " microbenchmark --filter=no-such-metric --min-time=" + bad), 2,
      std::string{"--min-time expects seconds from 0 to 60 (e.g. 0.5), got '"} + bad + "'");
  }
  std::system(("rm -rf /tmp/manta-bad-input-" + std::to_string(::getpid())).c_str());
}

// -- TaskSpecs a node manager cannot run -----------------------------------------

namespace {

namespace wire = manta::detail::wire;

/// A TaskResult with the bytes it was decoded from (its value is a view
/// into them).
using answer = manta_test::task_answer;

/// Sends `spec` to this process's node manager, as another node would, and
/// returns the TaskResult it answers with.
answer submit(const wire::bytes& spec) {
  auto& rt = manta::detail::runtime::require("test");
  caf::scoped_actor self{rt.system()};
  self->send(rt.node_manager(), manta::actors::submit_atom::value,
             manta::detail::runtime::cluster_token(), spec);
  answer r;
  if (!manta_test::receive_answer(self, r, std::chrono::seconds(10)))
    FAIL("no answer from the node manager");
  REQUIRE(r.undecodable == "");
  return r;
}

wire::task_message add_spec(uint64_t id) {
  auto t = manta_test::task_spec(id, "add", 2, 3);
  t.name = "add";
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
    CHECK(r.error.kind == manta::detail::error_kind::generic);
  }
  SUBCASE("an unknown function name") {
    auto t = add_spec(102);
    t.function_name = "subtract";
    auto r = submit(wire::encode(t));
    REQUIRE(r.kind == wire::result_message::failure);
    CHECK(r.error.kind == manta::detail::error_kind::unknown_function);
    CHECK(r.error.type_name.empty());
    CHECK(r.error.message.find("MANTA_REMOTE(subtract)") != std::string::npos);
  }
  SUBCASE("caller and callee disagree on the signature") {
    auto t = add_spec(103);
    t.signature = typeid(double (*)(double, double)).name();
    t.args = {manta::detail::encode(2.0), manta::detail::encode(3.0)};
    auto r = submit(wire::encode(t));
    REQUIRE(r.kind == wire::result_message::failure);
    CHECK(r.error.kind == manta::detail::error_kind::unknown_function);
    CHECK(r.error.type_name.empty());
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
  SUBCASE("a call of an actor that is not on the node") {
    auto t = add_spec(107);
    t.actor_id = 4242;
    auto r = submit(wire::encode(t));
    REQUIRE(r.kind == wire::result_message::failure);
    CHECK(r.error.kind == manta::detail::error_kind::actor_died);
    CHECK(r.error.message.find("is not on") != std::string::npos);
  }
  SUBCASE("a second spec with the id of a task still running") {
    auto& rt = manta::detail::runtime::require("test");
    caf::scoped_actor self{rt.system()};
    auto t = manta_test::task_spec(106, "nap", 300);
    auto token = manta::detail::runtime::cluster_token();
    caf::scoped_actor other{rt.system()};
    // Another owner's spec with the id is refused; the same owner's second
    // spec (an owner re-sends after a reconnect) is answered by the run
    // going on: one result, not two runs.
    self->send(rt.node_manager(), manta::actors::submit_atom::value, token, wire::encode(t));
    other->send(rt.node_manager(), manta::actors::submit_atom::value, token, wire::encode(t));
    self->send(rt.node_manager(), manta::actors::submit_atom::value, token, wire::encode(t));
    auto answers = [](caf::scoped_actor& who, std::chrono::milliseconds wait) {
      std::vector<answer> results;
      for (answer r; manta_test::receive_answer(who, r, wait); r = answer{}) {
        REQUIRE(r.undecodable == "");
        results.push_back(std::move(r));
      }
      return results;
    };
    auto refused = answers(other, std::chrono::milliseconds(1000));
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].kind == wire::result_message::failure);
    CHECK(refused[0].error.message.find("already running") != std::string::npos);
    CHECK(refused[0].error.kind == manta::detail::error_kind::generic);
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
    CHECK(r.error.kind == manta::detail::error_kind::infeasible_task);
    CHECK(r.error.message.find("GPU") != std::string::npos);
  }
  manta::shutdown();
}
