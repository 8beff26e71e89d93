// Writes valid inputs for every fuzz target into DIR/<target>/seed-N, so the
// fuzzer starts from well-formed messages and spill files rather than from
// nothing: tools/fuzz.sh runs it before fuzzing.

#include "tests/fuzz/fuzz_targets.hpp"

#include <manta/net/transfer_protocol.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;
namespace wire = manta::detail::wire;

namespace {

void put(const fs::path& dir, const std::string& target, int n, const std::string& prefix,
         const std::vector<char>& bytes) {
  fs::create_directories(dir / target);
  std::ofstream out{dir / target / ("seed-" + std::to_string(n)), std::ios::binary};
  out.write(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// The bytes of a spill file for `value`, written by the real spill store.
template <class T>
std::vector<char> spill_bytes(const T& value, const fs::path& tmp) {
  manta::detail::spill_store store;
  store.configure(tmp.string(), true);
  manta::detail::spill_store::file f;
  if (store.write(manta::object_id{manta_fuzz::spill_id}, typeid(T), *manta::detail::codec_for<T>(),
                  &value, sizeof(T), f))
    throw std::runtime_error("cannot write a spill file");
  std::ifstream in{f.path, std::ios::binary};
  std::vector<char> out{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  store.clear();
  return out;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  fs::path dir{argv[1]};
  wire::task_message t;
  t.task_id = 7;
  t.function_name = "add";
  t.signature = "FiiiE";
  t.name = "add";
  t.args = {manta::detail::encode(1), manta::detail::encode(std::string{"two"})};
  t.demand.cpus = 1;
  t.demand.custom = {{"GPU", 1}};
  t.max_retries = 3;
  put(dir, "wire_task", 1, "", wire::encode(t));
  t.args.clear();
  put(dir, "wire_task", 2, "", wire::encode(t));
  put(dir, "wire_task", 3, "", wire::encode_batch({wire::encode(t), wire::encode(t)}));
  wire::actor_message a;
  a.actor_id = 11;
  a.class_name = "ledger";
  a.constructor_key = "N5manta6detail10typed_ctorI6ledgerJEEE";
  a.args = {manta::detail::encode(5)};
  a.demand.custom = {{"GPU", 1}};
  put(dir, "wire_actor", 1, "", wire::encode(a));
  put(dir, "wire_actor", 2, "", wire::encode(wire::actor_created_message{11, "no such class"}));
  wire::result_message r;
  r.task_id = 9;
  r.node = "node-1";
  auto value = manta::detail::encode(42);
  r.value = value;
  put(dir, "wire_result", 1, "", wire::encode(r));
  r.kind = wire::result_message::stored;
  r.stored_size = 1 << 20;
  put(dir, "wire_result", 2, "", wire::encode(r));
  r.kind = wire::result_message::failure;
  r.error = {"std::runtime_error", "boom", "f", "node-1"};
  put(dir, "wire_result", 3, "", wire::encode(r));
  wire::node_record n{3, "127.0.0.1", 4000, 77, 2, {{"GPU", 1}}, false};
  put(dir, "wire_node", 1, "", wire::encode(n));
  put(dir, "wire_node", 2, "", wire::encode(wire::cluster_view{1, {n, n}}));
  put(dir, "wire_chunk", 1, std::string(1, '\0'),
      wire::encode_chunk(0, std::vector<char>(40, 'a')));
  put(dir, "wire_chunk", 2, std::string(1, '\x10'),
      wire::encode_chunk(16, std::vector<char>(5, 'b')));
  wire::log_batch logs{"node-2 (pid 4242)", {{7, false, "hello"}, {7, true, "oops"}}, 0};
  put(dir, "wire_logs", 1, "", wire::encode(logs));
  logs.lines.clear();
  logs.dropped = 12;
  put(dir, "wire_logs", 2, "", wire::encode(logs));
  manta_fuzz::record rec{"r", 3, {1.5, -2}, {{"a", 1}, {"b", 2}}};
  put(dir, "codec", 1, std::string(1, '\0'), manta::detail::encode(std::string{"hello"}));
  put(dir, "codec", 2, std::string(1, '\1'), manta::detail::encode(std::vector<int64_t>{1, 2, 3}));
  put(dir, "codec", 3, std::string(1, '\2'),
      manta::detail::encode(std::array<int32_t, 4>{1, 2, 3, 4}));
  put(dir, "codec", 4, std::string(1, '\3'),
      manta::detail::encode(std::map<std::string, std::vector<int32_t>>{{"k", {1, 2}}}));
  put(dir, "codec", 5, std::string(1, '\4'), manta::detail::encode(rec));
  put(dir, "codec", 6, std::string(1, '\5'),
      manta::detail::encode(std::vector<std::string>{"a", "bc"}));
  put(dir, "codec", 7, std::string(1, '\6'), std::vector<char>(36, '\x11'));
  auto tmp = fs::temp_directory_path() / ("manta-seeds-" + std::to_string(::getpid()));
  put(dir, "spill_file", 1, std::string(1, '\0'),
      spill_bytes(std::vector<int64_t>{5, 6, 7, 8, 9}, tmp));
  put(dir, "spill_file", 2, std::string(1, '\1'), spill_bytes(rec, tmp));
  // The parsers of net_targets.hpp and config_target.hpp: plain bytes.
  auto text = [](std::string_view s) { return std::vector<char>(s.begin(), s.end()); };
  put(dir, "http_request", 1, std::string(1, '\0'),
      text("GET /api/tasks?state=RUNNING&limit=10 HTTP/1.1\r\nHost: 127.0.0.1:8265\r\n\r\n"));
  put(dir, "http_request", 2, std::string(1, '\1'),
      text("GET /metrics HTTP/1.1\r\nHost: 10.0.0.5:8265\r\nAuthorization: Bearer "
           "f00dfeedcafe\r\n\r\n"));
  put(dir, "http_request", 3, std::string(1, '\1'),
      text("POST /login HTTP/1.1\r\nHost: 10.0.0.5:8265\r\nContent-Length: 18\r\n\r\n"
           "token=f00dfeedcafe"));
  put(dir, "http_request", 4, std::string(1, '\2'),
      text("GET / HTTP/1.1\r\nHost: [::1]:8265\r\nCookie: a=b; manta_token=f00dfeedcafe\r\n\r\n"));
  manta::detail::transfer_protocol::request req{manta::detail::transfer_protocol::magic, 64, 7, 0,
                                                1 << 20};
  put(dir, "transfer_request", 1, "",
      std::vector<char>(reinterpret_cast<const char*>(&req),
                        reinterpret_cast<const char*>(&req) + sizeof(req)));
  put(dir, "json_string", 1, "", text("task \"a\"\n\xe2\x82\xac \xff\xc0\xaf \xed\xa0\x80"));
  // A record header announcing 32 bytes, then 32 bytes no key sealed; a
  // header of TLS 1.2's handshake; plain bytes to seal, as is and flipped.
  put(dir, "tls_record", 1, std::string(1, '\0'),
      text(std::string("\x17\x03\x03\x00\x20", 5) + std::string(32, '\x5a')));
  put(dir, "tls_record", 2, std::string(1, '\0'), text(std::string("\x16\x03\x01\x02\x00", 5)));
  put(dir, "tls_record", 3, std::string(1, '\1'), text("object bytes sealed by one end"));
  put(dir, "tls_record", 4, std::string(1, '\3'), text("object bytes with one bit flipped"));
  put(dir, "config_file", 1, "",
      text("# a node\nnum-cpus = 4\nresources = GPU:1,disk:2\nobject-store-memory = 512M\n"
           "dashboard-port = 8265\ndashboard-host = 127.0.0.1\nconnection-timeout = 4s\n"));
  std::printf("seeds written to %s\n", argv[1]);
  return 0;
}
