// Decoders of bytes from other processes and from disk (wire.hpp, the value
// codec, spill files) turn every malformed, truncated, oversized or
// out-of-range input into an error value that names the message and the
// problem; none crashes, hangs or allocates what the input asks for.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/core/codec.hpp>
#include <manta/store/spill_store.hpp>
#include <manta/net/wire.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace wire = manta::detail::wire;
using wire::bytes;

namespace {

wire::task_message sample_task() {
  wire::task_message t;
  t.task_id = 42;
  t.function_name = "add";
  t.signature = "FiiiE";
  t.name = "add";
  t.args = {bytes(4, 'a'), bytes(13, 'b')};
  t.demand.cpus = 1;
  t.demand.custom = {{"GPU", 1}};
  t.max_retries = 3;
  return t;
}

wire::actor_message sample_actor() {
  wire::actor_message a;
  a.actor_id = 9;
  a.class_name = "ledger";
  a.constructor_key = "N5manta6detail10typed_ctorI6ledgerJEEE";
  a.name = "books";
  a.args = {bytes(4, 'c')};
  a.demand.custom = {{"GPU", 1}};
  a.max_restarts = 2;
  a.restarts = 1;
  return a;
}

wire::node_record sample_node() {
  wire::node_record n;
  n.index = 3;
  n.host = "127.0.0.1";
  n.port = 4000;
  n.pid = 77;
  n.cpus = 2;
  n.custom = {{"GPU", 1}};
  return n;
}

wire::log_batch sample_logs() {
  wire::log_batch b;
  b.node = "node-2 (pid 4242)";
  b.lines = {{7, false, "hello"}, {7, true, "to stderr"}, {9, false, ""}};
  b.dropped = 3;
  return b;
}

/// Decodes `in` as each message type; returns how many accepted it.
int decode_all(std::span<const char> in) {
  int ok = 0;
  wire::task_message t;
  wire::result_message r;
  wire::node_record n;
  wire::cluster_view v;
  wire::actor_message a;
  wire::actor_created_message ac;
  wire::log_batch l;
  bytes chunk;
  ok += wire::decode(in, l).empty();
  ok += wire::decode(in, a).empty();
  ok += wire::decode(in, ac).empty();
  ok += wire::decode(in, t).empty();
  ok += wire::decode(in, r).empty();
  ok += wire::decode(in, n).empty();
  ok += wire::decode(in, v).empty();
  ok += wire::append_chunk(in, chunk).empty();
  return ok;
}

/// Decodes `in` as a message of type `M`; the error ("" if none).
template <class M>
std::string decode_as(std::span<const char> in) {
  M out;
  return wire::decode(in, out);
}

/// Restores the decode limits when a test case ends.
struct limits_guard {
  wire::decode_limits saved = wire::current_decode_limits();
  ~limits_guard() { wire::set_decode_limits(saved); }
};

} // namespace

TEST_CASE("every message round-trips") {
  auto t = sample_task();
  wire::task_message t2;
  REQUIRE(wire::decode(wire::encode(t), t2) == "");
  CHECK(t2.function_name == "add");
  CHECK(t2.args == t.args);
  CHECK(t2.demand.custom == t.demand.custom);
  wire::cluster_view v{5, {sample_node(), sample_node()}, ""};
  wire::cluster_view v2;
  REQUIRE(wire::decode(wire::encode(v), v2) == "");
  CHECK(v2.nodes.size() == 2);
  CHECK(v2.your_index == 5);
  auto refs = sample_task();
  refs.args.emplace_back();
  refs.arg_refs = {{2, 99, 3, "127.0.0.1", 4242, 1 << 20, {}}};
  REQUIRE(wire::decode(wire::encode(refs), t2) == "");
  REQUIRE(t2.arg_refs.size() == 1);
  CHECK(t2.arg_refs[0].position == 2);
  CHECK(t2.arg_refs[0].object_id == 99);
  CHECK(t2.arg_refs[0].host == "127.0.0.1");
  CHECK(t2.arg_refs[0].data_port == 4242);
  CHECK(t2.arg_refs[0].size == 1 << 20);
  CHECK(t2.arg_refs[0].copies.empty());
  refs.arg_refs[0].copies = {{4, "127.0.0.2", 4343}, {6, "127.0.0.3", 4444}};
  REQUIRE(wire::decode(wire::encode(refs), t2) == "");
  REQUIRE(t2.arg_refs[0].copies.size() == 2);
  CHECK(t2.arg_refs[0].copies[1].node == 6);
  CHECK(t2.arg_refs[0].copies[1].host == "127.0.0.3");
  CHECK(t2.arg_refs[0].copies[1].data_port == 4444);
  wire::copy_message copy{77, 1 << 21, true};
  wire::copy_message copy2;
  REQUIRE(wire::decode(wire::encode(copy), copy2) == "");
  CHECK(copy2.object_id == 77);
  CHECK(copy2.size == 1 << 21);
  CHECK(copy2.held);
  auto no_id = wire::decode(wire::encode(wire::copy_message{}), copy2);
  CHECK(no_id.find("no object id") != std::string::npos);
  auto call = sample_task();
  call.actor_id = 77;
  REQUIRE(wire::decode(wire::encode(call), t2) == "");
  CHECK(t2.actor_id == 77);
  auto a = sample_actor();
  wire::actor_message a2;
  REQUIRE(wire::decode(wire::encode(a), a2) == "");
  CHECK(a2.class_name == "ledger");
  CHECK(a2.constructor_key == a.constructor_key);
  CHECK(a2.args == a.args);
  CHECK(a2.demand.custom == a.demand.custom);
  CHECK(a2.max_restarts == 2);
  CHECK(a2.restarts == 1);
  std::vector<bytes> batch{wire::encode(sample_task()), bytes{}, bytes(24, 'z')};
  std::vector<bytes> batch2;
  REQUIRE(wire::decode_batch(wire::encode_batch(batch), batch2) == "");
  CHECK(batch2 == batch);
  wire::actor_created_message c2;
  REQUIRE(wire::decode(wire::encode(wire::actor_created_message{9, "no such class"}), c2) == "");
  CHECK(c2.actor_id == 9);
  CHECK(c2.error == "no such class");
  wire::log_batch l;
  REQUIRE(wire::decode(wire::encode(sample_logs()), l) == "");
  CHECK(l.node == "node-2 (pid 4242)");
  REQUIRE(l.lines.size() == 3);
  CHECK(l.lines[1].task_id == 7);
  CHECK(l.lines[1].to_stderr);
  CHECK(l.lines[1].text == "to stderr");
  CHECK(l.lines[2].text.empty());
  CHECK(l.dropped == 3);
}

TEST_CASE("every truncation of every message is an error naming the message") {
  wire::result_message res;
  res.kind = wire::result_message::failure;
  res.error = {"std::runtime_error", "boom", "f", "node-1"};
  // Each message, whole, and how to decode it.
  struct message {
    std::string name;
    bytes full;
    std::string (*decode)(std::span<const char>);
  };
  std::vector<message> messages = {
    {"TaskSpec", wire::encode(sample_task()), decode_as<wire::task_message>},
    {"TaskResult", wire::encode(res), decode_as<wire::result_message>},
    {"NodeInfo", wire::encode(sample_node()), decode_as<wire::node_record>},
    {"ClusterView", wire::encode(wire::cluster_view{1, {sample_node()}, ""}),
     decode_as<wire::cluster_view>},
    {"ObjectChunk", wire::encode_chunk(0, bytes(100, 'x')),
     [](std::span<const char> in) {
       bytes out;
       auto err = wire::append_chunk(in, out);
       CHECK(out.empty());
       return err;
     }},
    {"ActorSpec", wire::encode(sample_actor()), decode_as<wire::actor_message>},
    {"Batch", wire::encode_batch({wire::encode(sample_task()), bytes(8, 'q')}),
     [](std::span<const char> in) {
       std::vector<bytes> out;
       return wire::decode_batch(in, out);
     }},
    {"LogBatch", wire::encode(sample_logs()), decode_as<wire::log_batch>},
    {"ObjectCopy", wire::encode(wire::copy_message{77, 1 << 21, true}),
     decode_as<wire::copy_message>},
  };
  for (auto& [name, full, decode] : messages) {
    CAPTURE(name);
    for (size_t n = 0; n < full.size(); ++n) {
      CAPTURE(n);
      auto err = decode({full.data(), n});
      REQUIRE(!err.empty());
      CHECK(err.find("bad " + name) == 0);
    }
  }
}

TEST_CASE("flipped bits and garbage never crash, and a corrupt segment table is refused") {
  auto full = wire::encode(sample_task());
  int refused = 0;
  for (size_t i = 0; i < full.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      auto copy = full;
      copy[i] = static_cast<char>(copy[i] ^ (1 << bit));
      wire::task_message out;
      refused += !wire::decode(copy, out).empty();
      decode_all(copy);
    }
  CHECK(refused > 0);
  // The first word is the segment table: segment count - 1, then the size.
  auto copy = full;
  copy[4] = static_cast<char>(0x7f); // segment size far beyond the bytes there
  wire::task_message out;
  CHECK(wire::decode(copy, out).find("malformed Cap'n Proto") != std::string::npos);
  // Pseudo-random garbage of every length up to 512 bytes.
  uint64_t x = 88172645463325252ull;
  for (size_t len = 0; len <= 512; len += 8) {
    bytes junk(len);
    for (auto& c : junk) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      c = static_cast<char>(x);
    }
    CHECK(decode_all(junk) <= 8);
  }
}

TEST_CASE("misaligned input is decoded from a copy") {
  auto full = wire::encode(sample_task());
  bytes shifted(full.size() + 1);
  std::copy(full.begin(), full.end(), shifted.begin() + 1);
  wire::task_message out;
  CHECK(wire::decode({shifted.data() + 1, full.size()}, out) == "");
  CHECK(out.task_id == 42);
}

TEST_CASE("a TaskResult's inline value is read where it lies, aligned or not") {
  bytes value(100000);
  for (size_t i = 0; i < value.size(); ++i)
    value[i] = static_cast<char>(i * 7);
  wire::result_message r;
  r.task_id = 5;
  r.node = "node-3";
  r.value = value;
  auto full = wire::encode(r);
  // Built in place: one segment, as large as the value and a few words.
  CHECK(full.size() < value.size() + 256);
  auto inside = [](std::span<const char> v, std::span<const char> in) {
    return v.data() >= in.data() && v.data() + v.size() <= in.data() + in.size();
  };
  wire::result_message out;
  REQUIRE(wire::decode(full, out) == "");
  CHECK(out.task_id == 5);
  CHECK(out.node == "node-3");
  CHECK(std::equal(out.value.begin(), out.value.end(), value.begin(), value.end()));
  CHECK(inside(out.value, full)); // a view into the message, not a copy
  // Misaligned: read from an aligned copy, the view still into the input.
  bytes shifted(full.size() + 1);
  std::copy(full.begin(), full.end(), shifted.begin() + 1);
  std::span<const char> in{shifted.data() + 1, full.size()};
  wire::result_message moved;
  REQUIRE(wire::decode(in, moved) == "");
  CHECK(std::equal(moved.value.begin(), moved.value.end(), value.begin(), value.end()));
  CHECK(inside(moved.value, in));
}

TEST_CASE("a message larger than its builder's room is flattened, and reads the same") {
  // The failure's texts are not in the room `build` makes: a second
  // segment, then the copy into one flat message.
  wire::result_message r;
  r.task_id = 6;
  r.kind = wire::result_message::failure;
  r.error = {std::string(5000, 't'), "boom", std::string(3000, 'f'), "node-1"};
  auto full = wire::encode(r);
  wire::result_message out;
  REQUIRE(wire::decode(full, out) == "");
  CHECK(out.task_id == 6);
  CHECK(out.error.type_name == r.error.type_name);
  CHECK(out.error.task_name == r.error.task_name);
  CHECK(out.error.message == "boom");
}

TEST_CASE("trailing words after a message are refused") {
  auto full = wire::encode(sample_node());
  full.insert(full.end(), 8, '\0');
  wire::node_record out;
  CHECK(wire::decode(full, out).find("after the end of the message") != std::string::npos);
}

TEST_CASE("messages over the size limit are refused with the limit and a hint") {
  limits_guard guard;
  auto t = sample_task();
  t.args.push_back(bytes(4096, 'z'));
  auto big = wire::encode(t);
  wire::set_decode_limits({1024, 4});
  wire::task_message out;
  auto err = wire::decode(big, out);
  CHECK(err.find("larger than the limit of 1024 bytes") != std::string::npos);
  CHECK(err.find("MANTA_MAX_MESSAGE_BYTES") != std::string::npos);
  wire::set_decode_limits({size_t{1} << 20, 4});
  CHECK(wire::decode(big, out) == "");
}

TEST_CASE("a list of 2^29 zero-sized nodes in 40 bytes is refused (amplification)") {
  // Segment table, then a ClusterView whose `nodes` is a composite list of
  // 536,870,911 structs of zero words: 40 bytes that would make the decoder
  // build half a billion node records without the traversal limit.
  std::vector<uint64_t> words = {
    uint64_t{4} << 32,                        // 1 segment of 4 words
    (uint64_t{1} << 32) | (uint64_t{1} << 48), // root: struct, 1 data word, 1 pointer
    0,                                        // yourIndex
    1 | (uint64_t{7} << 32),                  // nodes: composite list of 0 words
    uint64_t{(1u << 29) - 1} << 2,            // tag: 2^29 - 1 elements of 0 words
  };
  std::span<const char> in{reinterpret_cast<const char*>(words.data()), words.size() * 8};
  wire::cluster_view out;
  auto err = wire::decode(in, out);
  CHECK(err.find("bad ClusterView") == 0);
  CHECK(err.find("traversal limit") != std::string::npos);
  CHECK(out.nodes.empty());
}

TEST_CASE("values the runtime cannot use are refused") {
  wire::task_message out;
  auto t = sample_task();
  t.demand.cpus = std::nan("");
  CHECK(wire::decode(wire::encode(t), out).find("finite and non-negative") != std::string::npos);
  t = sample_task();
  t.demand.custom["GPU"] = -1;
  CHECK(wire::decode(wire::encode(t), out).find("resource 'GPU'") != std::string::npos);
  t = sample_task();
  t.demand.custom[""] = 1;
  CHECK(wire::decode(wire::encode(t), out).find("empty name") != std::string::npos);
  t = sample_task();
  t.max_retries = -7;
  CHECK(wire::decode(wire::encode(t), out).find("max_retries") != std::string::npos);
  t = sample_task();
  t.function_name.clear();
  CHECK(wire::decode(wire::encode(t), out).find("no function name") != std::string::npos);
  t = sample_task();
  t.arg_refs = {{5, 1, 1, "h", 1, 1, {}}};
  CHECK(wire::decode(wire::encode(t), out).find("out of range") != std::string::npos);
  t = sample_task();
  t.arg_refs = {{0, 1, 1, "h", 1, 1, {}}};
  CHECK(wire::decode(wire::encode(t), out).find("both inline and referenced") != std::string::npos);
  wire::actor_message aout;
  auto a = sample_actor();
  a.actor_id = 0;
  CHECK(wire::decode(wire::encode(a), aout).find("actor id 0") != std::string::npos);
  a = sample_actor();
  a.class_name.clear();
  CHECK(wire::decode(wire::encode(a), aout).find("no class name") != std::string::npos);
  a = sample_actor();
  a.max_concurrency = -1;
  CHECK(wire::decode(wire::encode(a), aout).find("max_concurrency") != std::string::npos);
  a = sample_actor();
  a.demand.cpus = -1;
  CHECK(wire::decode(wire::encode(a), aout).find("finite and non-negative") != std::string::npos);
  auto n = sample_node();
  n.port = 0;
  wire::node_record nout;
  CHECK(wire::decode(wire::encode(n), nout).find("host and port") != std::string::npos);
  n = sample_node();
  n.cpus = std::numeric_limits<double>::infinity();
  wire::cluster_view vout;
  CHECK(
    wire::decode(wire::encode(wire::cluster_view{1, {sample_node(), n}, ""}), vout).find("node 2:")
    != std::string::npos);
}

TEST_CASE("a LogBatch: malformed bytes, flipped bits and a missing node are errors") {
  wire::log_batch out;
  bytes junk(24, '\x5a');
  CHECK(wire::decode(junk, out).find("bad LogBatch") == 0);
  CHECK(wire::decode(bytes(13, 'x'), out).find("not a whole number of 8-byte words")
        != std::string::npos);
  auto full = wire::encode(sample_logs());
  auto copy = full;
  copy[4] = static_cast<char>(0x7f); // segment size far beyond the bytes there
  CHECK(wire::decode(copy, out).find("malformed Cap'n Proto") != std::string::npos);
  for (size_t i = 0; i < full.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      copy = full;
      copy[i] = static_cast<char>(copy[i] ^ (1 << bit));
      wire::decode(copy, out); // an error or some batch, never a crash
    }
  auto nameless = sample_logs();
  nameless.node.clear();
  CHECK(wire::decode(wire::encode(nameless), out).find("no node name") != std::string::npos);
}

TEST_CASE("chunks must arrive in order") {
  bytes out;
  CHECK(wire::append_chunk(wire::encode_chunk(0, bytes(16, 'a')), out) == "");
  CHECK(wire::append_chunk(wire::encode_chunk(0, bytes(16, 'b')), out).find("expected 16")
        != std::string::npos);
  CHECK(out.size() == 16);
}

// -- value codec ---------------------------------------------------------------

TEST_CASE("codec: garbage for a CAF-serialized type is an error, not a crash") {
  std::map<std::string, std::vector<int>> out;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  int refused = 0;
  for (size_t len = 0; len < 300; ++len) {
    std::vector<char> junk(len);
    for (auto& c : junk) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      c = static_cast<char>(x);
    }
    refused += manta::detail::decode(junk, out) ? 1 : 0;
  }
  CHECK(refused > 250);
  // A count of 2^32 - 1 elements followed by nothing.
  std::vector<char> huge_count = {'\xff', '\xff', '\xff', '\xff', '\x0f'};
  std::vector<std::string> strings;
  CHECK(manta::detail::decode(huge_count, strings));
}

TEST_CASE("codec: raw values split inside an element decode exactly (regression)") {
  // Spill files cut encoded bytes at 8-byte words; a 12-byte element then
  // straddles two chunks. This used to copy past the end of the vector.
  using elem = std::array<int32_t, 3>;
  std::vector<elem> v = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}};
  auto enc = manta::detail::encode(v);
  REQUIRE(enc.size() == 36);
  alignas(8) char buf[36];
  std::copy(enc.begin(), enc.end(), buf);
  manta::detail::byte_chunks chunks = {{buf, 32}, {buf + 32, 4}};
  std::vector<elem> out;
  REQUIRE(!manta::detail::decode_from(chunks, 36, out));
  CHECK(out == v);
  // Chunks that do not add up to the announced size are refused.
  CHECK(manta::detail::decode_from(chunks, 48, out));
  std::array<int64_t, 4> arr{};
  CHECK(manta::detail::decode_from(chunks, sizeof(arr), arr));
}

// -- spill files ---------------------------------------------------------------

TEST_CASE("spill files: every truncation and wrong header is an error naming the file") {
  manta::detail::spill_store store;
  store.configure("/tmp/manta-wire-test-" + std::to_string(::getpid()), true);
  std::vector<int64_t> value(1000);
  for (size_t i = 0; i < value.size(); ++i)
    value[i] = static_cast<int64_t>(i * i);
  auto* codec = manta::detail::codec_for<std::vector<int64_t>>();
  manta::object_id id{12345};
  manta::detail::spill_store::file f;
  REQUIRE(!store.write(id, typeid(value), *codec, &value, 8000, f));
  std::shared_ptr<const void> back;
  REQUIRE(!store.read(f.path, id, typeid(value), *codec, back));
  CHECK(*std::static_pointer_cast<const std::vector<int64_t>>(back) == value);
  // Load the file into an aligned buffer and cut it everywhere.
  std::vector<uint64_t> words((f.bytes + 7) / 8);
  {
    FILE* fp = std::fopen(f.path.c_str(), "rb");
    REQUIRE(fp != nullptr);
    REQUIRE(std::fread(words.data(), 1, f.bytes, fp) == f.bytes);
    std::fclose(fp);
  }
  auto* data = reinterpret_cast<const char*>(words.data());
  for (size_t n = 0; n < f.bytes; n += 8) {
    auto err = manta::detail::decode_spill_file({data, n}, "x.obj", id, typeid(value), *codec,
                                                back);
    REQUIRE(err);
    CHECK(manta::detail::error_text(err).find("the spill file 'x.obj'") == 0);
  }
  auto err = manta::detail::decode_spill_file({data, f.bytes}, "x.obj", manta::object_id{1},
                                              typeid(value), *codec, back);
  CHECK(manta::detail::error_text(err).find("not") != std::string::npos);
  err = manta::detail::decode_spill_file({data, f.bytes}, "x.obj", id, typeid(std::vector<int32_t>),
                                         *codec, back);
  CHECK(manta::detail::error_text(err).find("holds a") != std::string::npos);
  store.remove(f.path, f.bytes, store.generation());
  store.clear();
}

TEST_CASE("codec: infinities, NaN and denormals travel bit-exact (regression: encoding hung)") {
  // CAF 0.17 packs doubles with a loop that never ends for an infinity; the
  // codec writes IEEE 754 bits instead (found by tests/fuzz/codec_fuzz).
  std::map<std::string, double> m = {{"inf", HUGE_VAL},
                                     {"-inf", -HUGE_VAL},
                                     {"nan", std::nan("")},
                                     {"denormal", 4.9e-324},
                                     {"pi", 3.141592653589793}};
  std::map<std::string, double> back;
  REQUIRE(!manta::detail::decode(manta::detail::encode(m), back));
  REQUIRE(back.size() == m.size());
  for (auto& [k, v] : m) {
    CAPTURE(k);
    CHECK(std::memcmp(&back[k], &v, sizeof v) == 0);
  }
  std::vector<std::pair<float, int>> f = {{HUGE_VALF, 1}, {-0.0f, 2}, {1e-45f, 3}};
  std::vector<std::pair<float, int>> fback;
  REQUIRE(!manta::detail::decode(manta::detail::encode(f), fback));
  REQUIRE(fback.size() == 3);
  CHECK(std::isinf(fback[0].first));
  CHECK(std::signbit(fback[1].first));
  CHECK(fback[2].first == 1e-45f);
}
