// The head store on its own (docs/cluster.md, "Head fault tolerance"):
// records written to a real redis-server of the test's and read back, a
// record Manta did not write refused with an error naming it, Redis down
// named with its address and a hint, and a head started with an
// unreachable store stopping with that error. Skips (77) without
// redis-server.
#include "manta/cluster/head_store.hpp"
#include "tests/cluster_main.hpp"
#include "tests/redis_server.hpp"
#include "tests/shell_command.hpp"

#include <hiredis/hiredis.h>

#include <string>

using namespace manta::detail;
using manta_test::redis_server;

namespace {

wire::node_record member(uint16_t index, bool driver) {
  wire::node_record r;
  r.index = index;
  r.host = "127.0.0.1";
  r.port = static_cast<uint16_t>(40000 + index);
  r.pid = 1000u + index;
  r.cpus = 2;
  r.custom["GPU"] = 1;
  r.driver = driver;
  r.data_port = static_cast<uint16_t>(41000 + index);
  return r;
}

head_store open(const redis_server& r, int db = 0) {
  return head_store{parse_store_address("test", r.url(db))};
}

/// Sets `key` to `value` with a plain client (what another program might
/// have left in the database).
void raw_set(const redis_server& r, int db, const std::string& key, const std::string& value) {
  auto* c = redisConnect("127.0.0.1", r.port());
  REQUIRE(c != nullptr);
  REQUIRE(c->err == 0);
  freeReplyObject(redisCommand(c, "SELECT %d", db));
  auto* rep = static_cast<redisReply*>(redisCommand(c, "SET %s %s", key.c_str(), value.c_str()));
  REQUIRE(rep != nullptr);
  freeReplyObject(rep);
  redisFree(c);
}

/// The value of `field` in hash `key`, read with a plain client.
std::string raw_hget(const redis_server& r, const std::string& key, const std::string& field) {
  auto* c = redisConnect("127.0.0.1", r.port());
  REQUIRE(c != nullptr);
  REQUIRE(c->err == 0);
  auto* rep = static_cast<redisReply*>(redisCommand(c, "HGET %s %s", key.c_str(), field.c_str()));
  REQUIRE(rep != nullptr);
  std::string out = rep->type == REDIS_REPLY_STRING ? std::string{rep->str, rep->len} : "";
  freeReplyObject(rep);
  redisFree(c);
  return out;
}

} // namespace

TEST_CASE("store addresses: redis://HOST:PORT/DB, anything else named with the expected form") {
  auto a = parse_store_address("--head-store", "redis://127.0.0.1:7000/3");
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 7000);
  CHECK(a.db == 3);
  CHECK(parse_store_address("--head-store", "redis://db.example").port == 6379);
  for (auto bad : {"127.0.0.1:6379", "etcd://127.0.0.1:2379", "redis://:6379",
                   "redis://127.0.0.1:99999", "redis://127.0.0.1:6379/x"}) {
    CAPTURE(bad);
    try {
      parse_store_address("--head-store", bad);
      FAIL("accepted");
    } catch (const manta::invalid_argument_error& e) {
      std::string what = e.what();
      CHECK(what.find("--head-store expects redis://HOST:PORT[/DB]") != std::string::npos);
      CHECK(what.find(bad) != std::string::npos);
    }
  }
}

TEST_CASE("members, the next index, named actors and the head's address read back as written") {
  redis_server r;
  {
    auto s = open(r);
    CHECK(s.nodes().empty());
    CHECK(s.next_index() == 0);
    CHECK(!s.head());
    s.put_node(member(1, false));
    s.put_node(member(2, true)); // a driver: its job's registration
    s.put_node(member(3, false));
    s.drop_node(3);
    s.put_next_index(4);
    named_actor_record a{"keeper \"\xc3\xa9\"", "ns1", "tally", 1, 2, 0x1234567890abcdefULL, true};
    s.put_actor(a);
    s.put_actor({"gone", "default", "tally", 1, 2, 7, false});
    s.drop_actor("default", "gone");
    s.put_head({"127.0.0.1:6380", 42, 1700000000000});
    // The job table (cluster/job_table.hpp): a replaced head keeps counting.
    CHECK(s.next_job() == 0);
    s.put_next_job(3);
    job_record j;
    j.id = "job-0002";
    j.entrypoint = "./app --n \"x\"";
    j.host = "127.0.0.1";
    j.pid = 4242;
    j.node = 2;
    j.state = "FAILED";
    j.detail = "exit code 3";
    j.start_ms = 1700000000000;
    j.end_ms = 1700000001000;
    s.put_job(j);
    s.put_job({"job-0001", "", "h", 1, 1, "RUNNING", "", 5, 0});
    s.drop_job("job-0001");
  }
  // A second connection (a new head) sees all of it.
  auto s = open(r);
  auto nodes = s.nodes();
  REQUIRE(nodes.size() == 2);
  auto& w = nodes.at(1);
  CHECK(w.host == "127.0.0.1");
  CHECK(w.port == 40001);
  CHECK(w.pid == 1001);
  CHECK(w.cpus == 2);
  CHECK(w.custom.at("GPU") == 1);
  CHECK(!w.driver);
  CHECK(w.data_port == 41001);
  CHECK(nodes.at(2).driver);
  CHECK(s.next_index() == 4);
  auto actors = s.actors();
  REQUIRE(actors.size() == 1);
  CHECK(actors[0].name == "keeper \"\xc3\xa9\""); // quotes and UTF-8 survive
  CHECK(actors[0].ns == "ns1");
  CHECK(actors[0].cls == "tally");
  CHECK(actors[0].node == 1);
  CHECK(actors[0].owner == 2);
  CHECK(actors[0].actor_id == 0x1234567890abcdefULL);
  CHECK(actors[0].detached);
  auto h = s.head();
  REQUIRE(h);
  CHECK(h->address == "127.0.0.1:6380");
  CHECK(h->pid == 42);
  CHECK(stored_head_address(r.url(), std::chrono::milliseconds(500)) == "127.0.0.1:6380");
  CHECK(s.next_job() == 3);
  auto jobs = s.jobs();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == "job-0002");
  CHECK(jobs[0].entrypoint == "./app --n \"x\"");
  CHECK(jobs[0].pid == 4242);
  CHECK(jobs[0].node == 2);
  CHECK(jobs[0].state == "FAILED");
  CHECK(jobs[0].detail == "exit code 3");
  CHECK(jobs[0].start_ms == 1700000000000);
  CHECK(jobs[0].end_ms == 1700000001000);
  // Another database is another cluster's.
  CHECK(open(r, 1).nodes().empty());
  // Everything at once replaces what was there.
  s.put_all(9, {{5, member(5, false)}}, {}, 7, {{"job-0006", "", "h", 1, 5, "RUNNING", "", 5, 0}});
  CHECK(s.nodes().size() == 1);
  CHECK(s.nodes().count(5) == 1);
  CHECK(s.actors().empty());
  CHECK(s.next_index() == 9);
  CHECK(s.next_job() == 7);
  REQUIRE(s.jobs().size() == 1);
  CHECK(s.jobs()[0].id == "job-0006");
}

TEST_CASE("a record Manta did not write is an error naming it and what to do") {
  redis_server r;
  auto s = open(r);
  s.put_node(member(1, false));
  s.put_raw("manta:nodes", "7", "hello");
  try {
    s.nodes();
    FAIL("a corrupt member record was read");
  } catch (const head_store_error& e) {
    std::string what = e.what();
    CHECK(what.find("manta:nodes[7]") != std::string::npos);
    CHECK(what.find("does not start with 'manta.node.1:'") != std::string::npos);
    CHECK(what.find("redis-cli") != std::string::npos);
  }
  // The magic right but the bytes not a node record.
  s.put_raw("manta:nodes", "7", "manta.node.1:\x01\x02\x03");
  CHECK_THROWS_WITH_AS(s.nodes(), doctest::Contains("manta:nodes[7] is not a node record"),
                       head_store_error);
  s.put_raw("manta:actors", "default/x", "{\"v\":2,\"name\":\"x\"}");
  CHECK_THROWS_WITH_AS(s.actors(), doctest::Contains("manta:actors[default/x] has version 2"),
                       head_store_error);
  s.put_raw("manta:jobs", "job-0001", "{\"v\":1,\"id\":\"job-0001\"}");
  CHECK_THROWS_WITH_AS(s.jobs(), doctest::Contains("manta:jobs[job-0001] is not a job record"),
                       head_store_error);
  s.put_raw("manta:actors", "default/x", "not json");
  CHECK_THROWS_WITH_AS(s.actors(),
                       doctest::Contains("manta:actors[default/x] is not a named-actor record"),
                       head_store_error);
  // Another layout of the whole database is refused when it is opened.
  raw_set(r, 2, "manta:schema", "9");
  CHECK_THROWS_WITH_AS(open(r, 2), doctest::Contains("manta:schema says layout '9'"),
                       head_store_error);
}

TEST_CASE("records hold typed JSON values; the all-string records of earlier versions still "
          "read") {
  redis_server r;
  auto s = open(r);
  named_actor_record a;
  a.name = "counter";
  a.ns = "ns1";
  a.cls = "Counter";
  a.node = 3;
  a.owner = 1;
  a.actor_id = 77;
  a.detached = true;
  s.put_actor(a);
  auto stored = raw_hget(r, "manta:actors", "ns1/counter");
  CHECK(stored.find("\"node\":3,") != std::string::npos);
  CHECK(stored.find("\"detached\":true") != std::string::npos);
  // As Boost.PropertyTree wrote them (up to stop 38): every value a string.
  s.put_raw("manta:actors", "ns1/old",
            R"({"v":"1","name":"old","namespace":"ns1","class":"Counter","node":"4",)"
            R"("owner":"2","actor_id":"18446744073709551615","detached":"false"})");
  s.put_raw("manta:jobs", "job-0003",
            R"({"v":"1","id":"job-0003","entrypoint":"python x.py","host":"h","pid":"4242",)"
            R"("node":"5","state":"RUNNING","detail":"","start_ms":"-1","end_ms":"0"})");
  auto actors = s.actors();
  REQUIRE(actors.size() == 2);
  for (const auto& x : actors) {
    if (x.name == "old") {
      CHECK(x.node == 4);
      CHECK(x.owner == 2);
      CHECK(x.actor_id == UINT64_MAX);
      CHECK_FALSE(x.detached);
    } else {
      CHECK(x.name == "counter");
      CHECK(x.node == 3);
      CHECK(x.actor_id == 77);
      CHECK(x.detached);
    }
  }
  auto jobs = s.jobs();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].pid == 4242);
  CHECK(jobs[0].node == 5);
  CHECK(jobs[0].start_ms == -1);
  CHECK(jobs[0].entrypoint == "python x.py");
  // Out of range or not a number, in either form: named.
  s.put_raw("manta:actors", "ns1/old",
            R"({"v":1,"name":"old","namespace":"ns1","class":"C",)"
            R"("node":70000,"owner":2,"actor_id":1,"detached":false})");
  CHECK_THROWS_WITH_AS(s.actors(),
                       doctest::Contains("manta:actors[ns1/old] is not a named-actor record: "
                                         "field 'node' is not a whole number in range"),
                       head_store_error);
  s.put_raw("manta:actors", "ns1/old",
            R"({"v":1,"name":"old","namespace":"ns1","class":"C",)"
            R"("node":"4x","owner":2,"actor_id":1,"detached":false})");
  CHECK_THROWS_WITH_AS(s.actors(), doctest::Contains("field 'node' is not a whole number"),
                       head_store_error);
}

TEST_CASE("Redis down: an error naming the store and a hint, within the bound; back when it "
          "is") {
  redis_server r;
  auto s = open(r);
  s.put_next_index(3);
  r.stop();
  auto started = std::chrono::steady_clock::now();
  try {
    s.next_index();
    FAIL("read from a stopped store");
  } catch (const head_store_error& e) {
    std::string what = e.what();
    CHECK(what.find("the head store at " + r.url()) != std::string::npos);
    CHECK(what.find("reading manta:next_index failed") != std::string::npos);
    CHECK(what.find("redis-server --port " + std::to_string(r.port())) != std::string::npos);
  }
  // Reconnecting fails as clearly.
  CHECK_THROWS_WITH_AS(s.next_index(), doctest::Contains("connecting failed"), head_store_error);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
  r.start(); // empty: no persistence
  CHECK(s.next_index() == 0);
  s.put_next_index(5);
  CHECK(s.next_index() == 5);
}

TEST_CASE("a head whose store cannot be reached stops at once, saying which and what to do") {
  // This binary (a shell's /proc/self/exe would be the shell).
  auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  auto port = manta_test::free_port(); // nothing listens there
  auto url = "redis://127.0.0.1:" + std::to_string(port) + "/0";
  auto [rc, out] = manta_test::run(self
                                   + " --manta-head --manta-port=0 "
                                     "--dashboard-port=0 --manta-address-file=/tmp/manta-hs-"
                                   + std::to_string(::getpid())
                                   + "/head.address --head-store=" + url);
  CHECK(rc == 2);
  CHECK(out.find("the head store at " + url + ": connecting failed") != std::string::npos);
  CHECK(out.find("start redis-server there") != std::string::npos);
  auto [rc2, out2] = manta_test::run(self
                                     + " --manta-head --manta-port=0 "
                                       "--head-store=http://x");
  CHECK(rc2 == 2);
  CHECK(out2.find("--head-store (MANTA_HEAD_STORE) expects redis://HOST:PORT[/DB]")
        != std::string::npos);
  std::filesystem::remove_all("/tmp/manta-hs-" + std::to_string(::getpid()));
}

int main(int argc, char** argv) {
  if (!manta::is_cluster_process(argc, argv))
    manta_test::require_redis_or_skip("head_store_test");
  return manta_test::cluster_test_main(argc, argv);
}
