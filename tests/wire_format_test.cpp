// The wire format of every message, pinned: the bytes below are what the
// encoder of commit 5603270 (before the field lists of wire_fields.hpp)
// wrote for messages with every field set. Today's encoder must write the
// same bytes, and today's decoder must read them back into the same message,
// so that nodes of both builds understand each other. NodeState and
// StateQuery (the head dashboard's answer and question, node_state.hpp) are
// pinned the same way, as their hand-written encoders of 464d662 wrote them.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/cluster/node_state.hpp>
#include <manta/net/wire.hpp>

#include "schemas/state.capnp.h"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cmath>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace wire = manta::detail::wire;
using wire::bytes;

namespace {

std::string hex(std::span<const char> b) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (char c : b) {
    auto u = static_cast<unsigned char>(c);
    out += digits[u >> 4];
    out += digits[u & 15];
  }
  return out;
}

wire::task_message full_task() {
  wire::task_message t;
  t.task_id = 0x0102030405060708;
  t.function_name = "add";
  t.signature = "FiiiE";
  t.name = "add-7";
  t.args = {bytes(5, 'a'), bytes{}, bytes(9, 'b')};
  t.demand.cpus = 1.5;
  t.demand.custom = {{"GPU", 1}, {"disk", 0.25}};
  t.max_retries = 3;
  t.retry_exceptions = true;
  t.retry_exception_types = {"std::runtime_error", "my::oops"};
  t.attempt = 2;
  t.actor_id = 77;
  t.arg_refs = {{1, 901, 4, "10.0.0.4", 7001, 123456, {{5, "10.0.0.5", 7002}, {6, "h6", 7003}}}};
  t.layout_hash = 0xfeedfacecafebeef;
  t.job_id = "01000000";
  t.code = {"/opt/job/libwork.so", "/opt/job/lib"};
  t.item_window = 16;
  return t;
}

wire::actor_message full_actor() {
  wire::actor_message a;
  a.actor_id = 9;
  a.class_name = "ledger";
  a.constructor_key = "N5manta6detail10typed_ctorI6ledgerJEEE";
  a.name = "books";
  a.args = {bytes(4, 'c')};
  a.demand.cpus = 0.5;
  a.demand.custom = {{"GPU", 1}};
  a.max_restarts = 2;
  a.max_task_retries = -1;
  a.retry_exceptions = true;
  a.retry_exception_types = {"ledger_error"};
  a.max_concurrency = 4;
  a.restarts = 1;
  a.detached = true;
  a.job_id = "02000000";
  a.code = {"/opt/job"};
  return a;
}

wire::node_record full_node(uint16_t index, bool driver) {
  wire::node_record n;
  n.index = index;
  n.host = "127.0.0." + std::to_string(index);
  n.port = static_cast<uint16_t>(4000 + index);
  n.pid = 77 + index;
  n.cpus = 2;
  n.custom = {{"GPU", 2}};
  n.driver = driver;
  n.data_port = static_cast<uint16_t>(5000 + index);
  n.build.hash = 0xabcdef0123456789;
  n.build.entries = {{"add", 11, "FiiiE", {"int", "int"}}, {"ledger", 12, "", {}}};
  n.job_id = driver ? "03000000" : "";
  return n;
}

wire::result_message result_of(wire::result_message::kind_t kind, const bytes& value) {
  wire::result_message r;
  r.task_id = 31;
  r.node = "127.0.0.1:4000";
  r.kind = kind;
  if (kind == wire::result_message::inline_value)
    r.value = value;
  if (kind == wire::result_message::stored)
    r.stored_size = 1u << 20;
  if (kind == wire::result_message::failure)
    r.error = {"std::out_of_range",
               "index 9",
               "lookup",
               "127.0.0.2:4001",
               manta::detail::error_kind::task_error,
               true};
  return r;
}

const bytes& value_bytes() {
  static const bytes v{'v', 'a', 'l', 'u', 'e', '\0', '!'};
  return v;
}

/// A node's answer to the head, with two samples of its series.
manta::detail::node_state full_state() {
  manta::detail::node_state n;
  n.name = "node-2 (pid 4242)";
  n.role = "worker";
  n.pid = 4242;
  n.index = 2;
  n.total = {{"CPU", 4}, {"GPU", 1}};
  n.available = {{"CPU", 2.5}};
  n.queued_tasks = 3;
  n.executor_threads = 5;
  n.task_counts = {1, 2, 3, 4, 5, 6, 7};
  n.actors = 8;
  n.objects = 9;
  n.bytes_in_memory = 10;
  n.bytes_spilled = 11;
  n.budget_bytes = 12;
  n.tasks = {"{\"task_id\":\"01\"}"};
  n.actor_records = {"{}", "{\"a\":1}"};
  n.object_records = {"{\"o\":2}"};
  n.timeline_events = "{\"ph\":\"X\"}";
  n.memory_text = "memory";
  n.metrics_text = "# metrics";
  n.dashboard = "127.0.0.1:8265";
  for (int i = 0; i < 2; ++i)
    n.series.push_back({1700000000000 + i * 1000, i == 0 ? -1.0 : 12.5, i == 0 ? -1.0 : 40.25,
                        uint64_t{1} << 20, uint64_t{2} << 30, uint64_t{8} << 30, 100u + i, 200u + i,
                        300u + i, 4u + i, 5u + i, 6u + i, 7u + i, 8u + i});
  n.forwarded = "{\"lines\":[]}";
  n.forwarded_status = 200;
  return n;
}

/// The head's query, with every field set (a limit and a forward too).
manta::detail::state_query full_query() {
  manta::detail::state_query q;
  q.sections = manta::detail::state_query::tasks | manta::detail::state_query::series;
  q.filter.equals = {{"state", "RUNNING"}, {"node", "node-2 (pid 4242)"}};
  q.filter.limit = 50;
  q.newest = 1000;
  q.forward = "/api/task?id=0000000000000001";
  return q;
}

/// Each message's bytes, in the order of `expected`.
std::vector<bytes> encoded() {
  wire::cluster_view view{2, {full_node(0, false), full_node(2, true)}, "03000000"};
  wire::log_batch logs{"127.0.0.1:4000", {{31, false, "hello"}, {32, true, "oops\n"}}, 3};
  return {
    wire::encode(full_task()),
    wire::encode(full_actor()),
    wire::encode(wire::actor_created_message{9, "no such constructor"}),
    wire::encode(result_of(wire::result_message::inline_value, value_bytes())),
    wire::encode(result_of(wire::result_message::stored, {})),
    wire::encode(result_of(wire::result_message::failure, {})),
    wire::encode(full_node(1, false)),
    wire::encode(view),
    wire::encode(logs),
    wire::encode(wire::copy_message{901, 4096, true}),
    wire::encode(wire::queue_message{{1, 2, 3}, {4}, 8}),
    wire::encode(wire::bundle_message{12, 3, {{0, {{"CPU", 1}}}, {2, {{"GPU", 1}, {"CPU", 2}}}}}),
    wire::encode_batch({bytes(3, 'x'), bytes(8, 'y')}),
    wire::encode_chunk(4096, bytes(10, 'z')),
    wire::encode(full_state()),
    wire::encode(full_query()),
  };
}

/// What the encoder of commit 5603270 wrote.
const std::vector<std::string> expected = {
  "000000004100000000000000070009000807060504030201000000000000f83f030000000100000002000000000000004d00000000000000efbefecacefaedfe1000000000000000210000002200000021000000320000002100000032000000210000001e00000035000000270000008d0000002f0000004900000016000000610000004a0000006500000016000000616464000000000046696969450000006164642d37000000090000002a0000000900000002000000050000004a0000006161616161000000626262626262626262000000000000000800000001000100000000000000f03f0900000022000000000000000000d03f050000002a00000047505500000000006469736b00000000050000009a0000000d0000004a0000007374643a3a72756e74696d655f6572726f720000000000006d793a3a6f6f707300000000000000003031303030303030000000000000000005000000a20000000d0000006a0000002f6f70742f6a6f622f6c6962776f726b2e736f00000000002f6f70742f6a6f622f6c6962000000000400000003000200010000000400591b850300000000000040e2010000000000050000004a000000090000002700000031302e302e302e340000000000000000080000000100010005005a1b00000000090000004a00000006005b1b00000000090000001a00000031302e302e302e3500000000000000006836000000000000",
  "000000002300000000000000050008000900000000000000000000000000e03f02000000ffffffff040000000100000003000000000000001d0000003a0000001d0000003a0100002d000000320000002d0000000e00000031000000170000003d0000000e000000450000004a000000490000000e0000006c656467657200004e356d616e74613664657461696c313074797065645f63746f7249366c65646765724a4545450000626f6f6b73000000010000002200000063636363000000000400000001000100000000000000f03f01000000220000004750550000000000010000006a0000006c65646765725f6572726f720000000030323030303030300000000000000000010000004a0000002f6f70742f6a6f620000000000000000",
  "00000000060000000000000001000100090000000000000001000000a20000006e6f207375636820636f6e7374727563746f720000000000",
  "000000000900000000000000030002001f0000000000000000000000000000000000000000000000050000007a000000090000003a0000003132372e302e302e313a34303030000076616c7565002100",
  "000000000800000000000000030002001f0000000000000001000000000000000000100000000000050000007a00000000000000000000003132372e302e302e313a343030300000",
  "000000001400000000000000030002001f0000000000000002000000000000000000000000000000050000007a00000008000000010004003132372e302e302e313a34303030000000000100000000000d000000920000001500000042000000150000003a000000150000007a0000007374643a3a6f75745f6f665f72616e676500000000000000696e6465782039006c6f6f6b757000003132372e302e302e323a343030310000",
  "000000002200000000000000030004000100a10f4e000000000000000000004000008913000000000d0000005200000011000000170000002000000001000100190000000a0000003132372e302e302e3100000000000000040000000100010000000000000000400100000022000000475055000000000000000000000000008967452301efcdab010000004700000008000000010003000b000000000000001900000022000000190000003200000019000000160000000c00000000000000210000003a000000210000000a00000021000000060000006164640000000000466969694500000005000000220000000500000022000000696e740000000000696e7400000000006c656467657200000000000000000000",
  "01000000390000001200000000000000000000000100020002000000000000000d00000077000000010000004a0000003033303030303030000000000000000008000000030004000000a00f4d0000000000000000000040000088130000000029000000520000002d000000170000003c00000001000100350000000a0000000200a20f4f000000000000000000004001008a1300000000750000005200000079000000170000008c00000001000100810000004a0000003132372e302e302e3000000000000000040000000100010000000000000000400100000022000000475055000000000000000000000000008967452301efcdab010000004700000008000000010003000b000000000000001900000022000000190000003200000019000000160000000c00000000000000210000003a000000210000000a00000021000000060000006164640000000000466969694500000005000000220000000500000022000000696e740000000000696e7400000000006c6564676572000000000000000000003132372e302e302e32000000000000000400000001000100000000000000004001000000220000004750550000000000303330303030303000000000000000008967452301efcdab0200000001000000010000004700000008000000010003000b000000000000001900000022000000190000003200000019000000160000000c00000000000000210000003a000000210000000a00000021000000060000006164640000000000466969694500000005000000220000000500000022000000696e740000000000696e7400000000006c656467657200000000000000000000",
  "000000000f00000000000000010002000300000000000000050000007a00000009000000370000003132372e302e302e313a34303030000008000000020001001f0000000000000000000000000000000d0000003200000020000000000000000100000000000000050000003200000068656c6c6f0000006f6f70730a000000",
  "00000000040000000000000003000000850300000000000000100000000000000100000000000000",
  "000000000800000000000000010002000800000000000000050000001d0000000d0000000d0000000100000000000000020000000000000003000000000000000400000000000000",
  "000000001400000000000000020001000c0000000000000003000000000000000100000027000000080000000100010000000000000000000900000017000000020000000000000011000000270000000400000001000100000000000000f03f01000000220000004350550000000000080000000100010000000000000000400900000022000000000000000000f03f050000002200000043505500000000004750550000000000",
  "000000000600000000000000000001000100000016000000050000001a000000050000004200000078787800000000007979797979797979",
  "00000000050000000000000001000100001000000000000001000000520000007a7a7a7a7a7a7a7a7a7a000000000000",
  "01000000400000001e000000000000000000000008000e00921000000200c80003000000000000000500000000000000080000000000000009000000000000000a000000000000000b000000000000000c0000000000000035000000920000003d0000003a0000003d000000270000005500000017000000610000003d000000790000000e0000008500000016000000910000000e000000950000005a000000990000003a00000099000000520000009d0000007a00000002000000010000009d0000006a0000006e6f64652d32202870696420343234322900000000000000776f726b65720000080000000100010000000000000010400900000022000000000000000000f03f05000000220000004350550000000000475055000000000004000000010001000000000000000440010000002200000043505500000000000100000000000000020000000000000003000000000000000400000000000000050000000000000006000000000000000700000000000000010000008a0000007b227461736b5f6964223a223031227d0000000000000000050000001a00000005000000420000007b7d0000000000007b2261223a317d0001000000420000007b226f223a327d007b227068223a2258227d0000000000006d656d6f7279000023206d657472696373000000000000003132372e302e302e313a3832363500007b226c696e6573223a5b5d7d0000000001000000e7000000080000000e0000000068e5cf8b010000000000000000f0bf000000000000f0bf0000100000000000000000800000000000000000020000006400000000000000c8000000000000002c0100000000000004000000000000000500000000000000060000000000000007000000000000000800000000000000e86be5cf8b010000000000000000294000000000002044400000100000000000000000800000000000000000020000006500000000000000c9000000000000002d0100000000000005000000000000000600000000000000070000000000000008000000000000000900000000000000",
  "000000001400000000000000020002004100000032000000e80300000000000005000000270000002d000000f200000008000000000002000d000000320000000d000000420000000d0000002a0000000d00000092000000737461746500000052554e4e494e47006e6f6465000000006e6f64652d322028706964203432343229000000000000002f6170692f7461736b3f69643d30303030303030303030303030303031000000",
};

bytes unhex(const std::string& h) {
  bytes out(h.size() / 2);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(std::stoi(h.substr(2 * i, 2), nullptr, 16));
  return out;
}

/// `decode` of `in` into a fresh `T`, then its encoding again.
template <class T>
bytes again(const bytes& in) {
  T x;
  auto why = wire::decode(in, x);
  REQUIRE_MESSAGE(why.empty(), why);
  return wire::encode(x);
}

} // namespace

TEST_CASE("every message is written as the encoder of 5603270 wrote it") {
  auto got = encoded();
  if (std::getenv("MANTA_WIRE_FORMAT_PRINT") != nullptr) {
    for (auto& b : got)
      std::printf("  \"%s\",\n", hex(b).c_str());
    return;
  }
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(hex(got[i]) == expected[i]);
  }
}

TEST_CASE("the bytes of 5603270 read back into the same message") {
  REQUIRE(expected.size() == 16);
  std::vector<bytes> old;
  for (auto& h : expected)
    old.push_back(unhex(h));
  CHECK(again<wire::task_message>(old[0]) == old[0]);
  CHECK(again<wire::actor_message>(old[1]) == old[1]);
  CHECK(again<wire::actor_created_message>(old[2]) == old[2]);
  CHECK(again<wire::result_message>(old[3]) == old[3]);
  CHECK(again<wire::result_message>(old[4]) == old[4]);
  CHECK(again<wire::result_message>(old[5]) == old[5]);
  CHECK(again<wire::node_record>(old[6]) == old[6]);
  CHECK(again<wire::cluster_view>(old[7]) == old[7]);
  CHECK(again<wire::log_batch>(old[8]) == old[8]);
  CHECK(again<wire::copy_message>(old[9]) == old[9]);
  CHECK(again<wire::queue_message>(old[10]) == old[10]);
  CHECK(again<wire::bundle_message>(old[11]) == old[11]);
  std::vector<bytes> items;
  REQUIRE(wire::decode_batch(old[12], items).empty());
  CHECK(wire::encode_batch(items) == old[12]);
  bytes chunk(4096, 'q');
  REQUIRE(wire::append_chunk(old[13], chunk).empty());
  CHECK(chunk.size() == 4106);
  CHECK(wire::encode_chunk(4096, std::span<const char>(chunk).subspan(4096)) == old[13]);
  CHECK(again<manta::detail::node_state>(old[14]) == old[14]);
  CHECK(again<manta::detail::state_query>(old[15]) == old[15]);
}

TEST_CASE("the pinned StateQuery and NodeState read back field by field") {
  manta::detail::state_query q;
  REQUIRE(wire::decode(unhex(expected[15]), q).empty());
  auto want = full_query();
  CHECK(q.sections == want.sections);
  CHECK(q.filter.equals == want.filter.equals);
  CHECK(q.filter.limit == 50);
  CHECK(q.newest == want.newest);
  CHECK(q.forward == want.forward);
  manta::detail::node_state n;
  REQUIRE(wire::decode(unhex(expected[14]), n).empty());
  auto full = full_state();
  CHECK(n.name == full.name);
  CHECK(n.role == full.role);
  CHECK(n.pid == full.pid);
  CHECK(n.index == full.index);
  CHECK(n.total == full.total);
  CHECK(n.available == full.available);
  CHECK(n.queued_tasks == full.queued_tasks);
  CHECK(n.executor_threads == full.executor_threads);
  CHECK(n.task_counts == full.task_counts);
  CHECK(n.actors == full.actors);
  CHECK(n.objects == full.objects);
  CHECK(n.bytes_in_memory == full.bytes_in_memory);
  CHECK(n.bytes_spilled == full.bytes_spilled);
  CHECK(n.budget_bytes == full.budget_bytes);
  CHECK(n.tasks == full.tasks);
  CHECK(n.actor_records == full.actor_records);
  CHECK(n.object_records == full.object_records);
  CHECK(n.timeline_events == full.timeline_events);
  CHECK(n.memory_text == full.memory_text);
  CHECK(n.metrics_text == full.metrics_text);
  CHECK(n.dashboard == full.dashboard);
  REQUIRE(n.series.size() == 2);
  CHECK(n.series[1].cpu_percent == 12.5);
  CHECK(n.series[1].queued == 9);
  CHECK(n.forwarded == full.forwarded);
  CHECK(n.forwarded_status == full.forwarded_status);
}

TEST_CASE("a StateQuery without a limit reads back as none") {
  manta::detail::state_query q;
  q.sections = manta::detail::state_query::actors;
  manta::detail::state_query back;
  back.filter.limit = 3;
  REQUIRE(wire::decode(wire::encode(q), back).empty());
  CHECK(back.filter.limit == static_cast<size_t>(-1));
  CHECK(back.filter.equals.empty());
  q.filter.limit = size_t{1} << 40; // more than the wire's 32 bits: none
  REQUIRE(wire::decode(wire::encode(q), back).empty());
  CHECK(back.filter.limit == static_cast<size_t>(-1));
}

TEST_CASE("a NodeState whose taskCounts has another size is refused, naming the field") {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<manta::schema::NodeState>();
  b.setName("node-3");
  auto counts = b.initTaskCounts(6); // one task_state short
  for (unsigned i = 0; i < 6; ++i)
    counts.set(i, i);
  auto words = capnp::messageToFlatArray(msg);
  auto chars = words.asChars();
  manta::detail::node_state n;
  auto why = wire::decode(bytes(chars.begin(), chars.end()), n);
  CHECK_MESSAGE(why.find("NodeState") != std::string::npos, why);
  CHECK_MESSAGE(why.find("taskCounts has 6 entries, not 7") != std::string::npos, why);
}

TEST_CASE("a NodeState with an amount that is not finite is refused, naming the list") {
  auto n = full_state();
  n.available = {{"GPU", std::nan("")}};
  manta::detail::node_state back;
  auto why = wire::decode(wire::encode(n), back);
  CHECK_MESSAGE(why.find("available: resource 'GPU' is not a finite amount") != std::string::npos,
                why);
  n = full_state();
  n.total = {{"CPU", INFINITY}};
  why = wire::decode(wire::encode(n), back);
  CHECK_MESSAGE(why.find("total: resource 'CPU' is not a finite amount") != std::string::npos, why);
}
