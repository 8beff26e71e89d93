// The raw data path for object bytes (object_transfer.hpp, object_fetch.hpp,
// held_objects.hpp): byte-exact over one or several connections and from
// several holders at once, refused without the token, clear about what is
// missing, unharmed by garbage or a peer that goes away, falling back to the
// other holders when one dies mid-read; a copy being read serves the chunks
// it has; cached copies count in the memory budget and are dropped first;
// the owner's directory of copies.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN

#include <doctest/doctest.h>
#include <manta/store/object_store.hpp>
#include <manta/cluster/object_fetch.hpp>
#include <manta/net/object_transfer.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>


#include "manta/cluster/object_directory.hpp"
#include "manta/net/fetch_op.hpp"
#include "tests/byte_pattern.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <sys/socket.h>

using namespace manta::detail;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

using manta_test::pattern;

struct served {
  std::shared_ptr<std::vector<char>> bytes = pattern((40u << 20) + 12345);
  transfer_server server{"127.0.0.1", "secret", [this](uint64_t id) -> std::optional<held_bytes> {
                           if (id != 7)
                             return std::nullopt;
                           return held_bytes{bytes, bytes->data(), bytes->size(), nullptr};
                         }};
};

/// Counts down once per holder asked; each holder's lookup waits (5 s at
/// most) until all were asked, so every holder surely gets a chunk.
struct latch {
  std::mutex mtx;
  std::condition_variable cv;
  int left;
  explicit latch(int n) : left(n) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> guard{mtx};
    if (--left <= 0)
      cv.notify_all();
    cv.wait_for(guard, std::chrono::seconds(5), [&] { return left <= 0; });
  }
};

/// A holder that serves the same bytes, counting the chunks it sent;
/// `first_asked` runs (and may wait) when it is first asked.
struct holder {
  std::shared_ptr<std::vector<char>> bytes;
  std::function<void()> first_asked;
  std::atomic<int> chunks{0};
  std::atomic<bool> asked{false};
  transfer_server server{"127.0.0.1", "secret", [this](uint64_t id) -> std::optional<held_bytes> {
                           if (id != 7)
                             return std::nullopt;
                           if (!asked.exchange(true) && first_asked)
                             first_asked();
                           ++chunks;
                           return held_bytes{bytes, bytes->data(), bytes->size(), nullptr};
                         }};
  holder(std::shared_ptr<std::vector<char>> b, std::function<void()> f)
    : bytes(std::move(b)), first_asked(std::move(f)) {}
};

/// A holder that dies mid-read: answers its first request with half the
/// bytes, then closes the connection and stops listening.
struct dying_holder {
  asio::io_context io;
  tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
  std::atomic<bool> asked{false};
  std::thread thread;
  explicit dying_holder(const std::vector<char>& bytes) {
    thread = std::thread{[this, &bytes] {
      boost::system::error_code ec;
      tcp::socket s{io};
      acceptor.accept(s, ec);
      if (ec)
        return;
      uint32_t head[8]; // magic, token length, id, offset, length
      asio::read(s, asio::buffer(head, 32), ec);
      std::string token(head[1], '\0');
      asio::read(s, asio::buffer(token), ec);
      uint64_t offset = 0;
      uint64_t length = 0;
      std::memcpy(&offset, reinterpret_cast<char*>(head) + 16, 8);
      std::memcpy(&length, reinterpret_cast<char*>(head) + 24, 8);
      asked = true;
      uint32_t answer[4] = {0, 0, 0, 0};
      std::memcpy(answer + 2, &length, 8);
      asio::write(s, asio::buffer(answer, 16), ec);
      asio::write(s, asio::buffer(bytes.data() + offset, length / 2), ec);
      s.close(ec);
      // Stops listening (connections are refused from now on) without
      // closing: the destructor closes the acceptor after this thread ended,
      // as a close() concurrent with another use of an asio acceptor is a
      // data race (TSan).
      ::shutdown(acceptor.native_handle(), SHUT_RDWR);
    }};
  }
  uint16_t port() const { return acceptor.local_endpoint().port(); }
  ~dying_holder() {
    ::shutdown(acceptor.native_handle(), SHUT_RDWR); // wakes a blocked accept()
    thread.join();
    boost::system::error_code ec;
    acceptor.close(ec);
  }
};

/// A holder's first-asked hook that answers only once `dying` was asked (5 s
/// at most): the dying holder surely dies with chunks of the read in flight.
std::function<void()> once_asked(const dying_holder& dying) {
  return [&dying] {
    for (int i = 0; i < 500 && !dying.asked; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  };
}

} // namespace

TEST_CASE("objects arrive byte-exact over one and several connections") {
  served s;
  for (int streams : {1, 2, 3}) {
    CAPTURE(streams);
    std::vector<char> out;
    CHECK(fetch_object("127.0.0.1", s.server.port(), "secret", 7, s.bytes->size(), out, streams)
          == "");
    CHECK(out == *s.bytes);
  }
  std::vector<char> empty;
  CHECK(fetch_object("127.0.0.1", s.server.port(), "secret", 7, 0, empty) == "");
  CHECK(empty.empty());
}

TEST_CASE("a wrong token is refused; a missing object or size is named") {
  served s;
  std::vector<char> out;
  auto refused = fetch_object("127.0.0.1", s.server.port(), "guess", 7, 100, out);
  CHECK(refused.find("wrong cluster token") != std::string::npos);
  CHECK(s.server.refused() == 1);
  auto missing = fetch_object("127.0.0.1", s.server.port(), "secret", 8, 100, out);
  CHECK(missing.find("not on this node") != std::string::npos);
  auto larger = fetch_object("127.0.0.1", s.server.port(), "secret", 7, s.bytes->size() + 1, out);
  CHECK(larger.find("expected") != std::string::npos);
  auto nobody = fetch_object("127.0.0.1", 1, "secret", 7, 100, out); // nothing listens on port 1
  CHECK(nobody.find("object transfer from 127.0.0.1:1 failed") != std::string::npos);
}

TEST_CASE("garbage and peers that hang up do not hurt the server") {
  served s;
  asio::io_context io;
  {
    tcp::socket sock{io};
    sock.connect({asio::ip::make_address("127.0.0.1"), s.server.port()});
    std::string junk(64, '\x5a');
    asio::write(sock, asio::buffer(junk));
    char answer[16];
    boost::system::error_code ec;
    asio::read(sock, asio::buffer(answer), ec);
    CHECK_FALSE(ec); // an answer saying no, then the connection closes
  }
  {
    tcp::socket sock{io};
    sock.connect({asio::ip::make_address("127.0.0.1"), s.server.port()});
    uint32_t half[3] = {0x3158544d, 6, 0}; // a request cut short, then gone
    asio::write(sock, asio::buffer(half, sizeof(half)));
  }
  CHECK(s.server.refused() >= 1);
  std::vector<char> out;
  CHECK(fetch_object("127.0.0.1", s.server.port(), "secret", 7, s.bytes->size(), out, 2) == "");
  CHECK(out == *s.bytes);
}

TEST_CASE("two holders share the chunks of one read, byte-exact; a third stands by") {
  auto bytes = pattern((40u << 20) + 12345);
  latch all_asked{2};
  auto wait_all = [&] { all_asked.arrive_and_wait(); };
  holder a{bytes, wait_all}, b{bytes, wait_all}, c{bytes, nullptr};
  std::vector<object_source> sources{
    {"127.0.0.1", a.server.port()}, {"127.0.0.1", b.server.port()}, {"127.0.0.1", c.server.port()}};
  std::vector<char> out;
  CHECK(fetch_object(sources, "secret", 7, bytes->size(), out) == "");
  CHECK(out == *bytes);
  auto chunks = static_cast<int>((bytes->size() + transfer_chunk - 1) / transfer_chunk);
  CHECK(a.chunks > 0);
  CHECK(b.chunks > 0);
  CHECK(c.chunks == 0);
  CHECK(a.chunks + b.chunks == chunks);
}

TEST_CASE("a holder dying mid-read: the others finish the read, one standing by joins") {
  auto bytes = pattern((24u << 20) + 777);
  dying_holder dying{*bytes};
  holder good{bytes, once_asked(dying)};
  std::vector<char> out;
  // Nothing listens on port 1: that holder fails at once, and the good
  // one, standing by, replaces it.
  std::vector<object_source> sources{
    {"127.0.0.1", dying.port()}, {"127.0.0.1", 1}, {"127.0.0.1", good.server.port()}};
  CHECK(fetch_object(sources, "secret", 7, bytes->size(), out) == "");
  CHECK(dying.asked);
  CHECK(good.chunks > 0);
  CHECK(out == *bytes);
  // Alone, it fails the read, and says so.
  dying_holder alone{*bytes};
  std::vector<char> out2;
  auto why = fetch_object({{"127.0.0.1", alone.port()}}, "secret", 7, bytes->size(), out2);
  CHECK(why.find("failed") != std::string::npos);
  auto none_left = fetch_object({{"127.0.0.1", 1}, {"127.0.0.1", 1}, {"127.0.0.1", 1}}, "secret", 7,
                                100, out2);
  CHECK(none_left.find("every holder failed") != std::string::npos);
  CHECK(none_left.find("; 127.0.0.1:1: object transfer from 127.0.0.1:1 failed")
        != std::string::npos);
}

TEST_CASE("fresh memory grows chunk by chunk as the read goes: byte-exact through failures") {
  // 32 MiB and more land in fresh memory that a thread of the read maps
  // ahead of the readers, each chunk's reader mapping what it has not
  // reached and zeroing the chunk just before reading (fetch_op::ensure);
  // the size is a multiple
  // of neither the chunk nor a page, and a holder dying mid-read gives its
  // chunks, lower ones among them, to another.
  auto bytes = pattern((40u << 20) + 777);
  dying_holder dying{*bytes};
  holder good{bytes, once_asked(dying)};
  std::vector<char> out;
  auto mappers = mapping_threads_started();
  rusage before_read{};
  ::getrusage(RUSAGE_THREAD, &before_read);
  CHECK(fetch_object({{"127.0.0.1", dying.port()}, {"127.0.0.1", good.server.port()}}, "secret", 7,
                     bytes->size(), out)
        == "");
  rusage after_read{};
  ::getrusage(RUSAGE_THREAD, &after_read);
  CHECK(dying.asked);
  CHECK(out == *bytes);
  CHECK(mapping_threads_started() == mappers + 1);
  // Memory sized already (a buffer reused) needs no mapping.
  CHECK(fetch_object({{"127.0.0.1", good.server.port()}}, "secret", 7, bytes->size(), out) == "");
  CHECK(out == *bytes);
  CHECK(mapping_threads_started() == mappers + 1);
  // The caller's thread sent the first requests without touching the
  // 10,240 pages first (the loop's threads map each chunk as it comes).
  // glibc's MALLOC_PERTURB_ writes every byte malloc hands out: with it, the
  // allocation itself touches them (meson.build sets it to 0 for this test).
  auto* perturb = std::getenv("MALLOC_PERTURB_");
  if (perturb != nullptr && std::atoi(perturb) != 0)
    MESSAGE("MALLOC_PERTURB_ is set: the page faults of the read's caller are not checked");
  else
    CHECK(after_read.ru_minflt - before_read.ru_minflt < 1000);
  // A sole holder dying mid-read: a clear error, the buffer sized all the
  // same, and no thread left behind (the fetch loop's run already; the
  // read's mapping thread ended with it).
  auto threads = [] {
    std::ifstream in{"/proc/self/status"};
    for (std::string line; std::getline(in, line);)
      if (line.rfind("Threads:", 0) == 0)
        return std::stol(line.substr(8));
    return -1L;
  };
  auto before = threads();
  {
    dying_holder alone{*bytes};
    std::vector<char> lost;
    auto why = fetch_object({{"127.0.0.1", alone.port()}}, "secret", 7, bytes->size(), lost);
    CHECK(why.find("object transfer from 127.0.0.1:" + std::to_string(alone.port()) + " failed")
          != std::string::npos);
    CHECK(lost.size() == bytes->size());
  }
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (threads() != before && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(threads() == before);
}

TEST_CASE("a copy being read serves the chunks it has; cached copies are counted and evicted") {
  auto bytes = pattern((20u << 20) + 5);
  // A store of the test's own: no runtime runs.
  struct own_store {
    object_store* store = object_store::make({});
    ~own_store() { store->release(); }
  } own;
  auto& held = own.store->held();
  transfer_server server{"127.0.0.1", "secret", [&](uint64_t id) { return held.view(id); }};
  auto used_before = own.store->table().bytes_used();
  std::shared_ptr<copy_progress> progress;
  std::atomic<int> dropped{0};
  auto copy = held.start_copy(
    42, bytes->size(), [&] { ++dropped; }, progress);
  REQUIRE(copy != nullptr);
  REQUIRE(progress != nullptr);
  CHECK(held.find(42) == nullptr); // not complete yet
  CHECK(held.cached_bytes() == bytes->size());
  CHECK(own.store->table().bytes_used() == used_before + bytes->size());
  std::shared_ptr<copy_progress> again;
  CHECK(held.start_copy(42, bytes->size(), {}, again) == nullptr); // one copy per object
  // Chunks arrive one by one (last first) while another node reads them.
  std::thread filler{[&] {
    auto chunks = (bytes->size() + transfer_chunk - 1) / transfer_chunk;
    for (uint64_t k = chunks; k-- > 0;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      auto from = k * transfer_chunk;
      auto n = std::min<uint64_t>(transfer_chunk, bytes->size() - from);
      std::memcpy(copy->data() + from, bytes->data() + from, n);
      progress->arrived(k);
    }
  }};
  std::vector<char> out;
  CHECK(fetch_object({{"127.0.0.1", server.port()}}, "secret", 42, bytes->size(), out) == "");
  filler.join();
  CHECK(out == *bytes);
  held.finish_copy(42);
  REQUIRE(held.find(42) != nullptr);
  // While the writer (or a task reading it) still holds the buffer, it
  // stays counted and is not evicted: dropping it would free nothing.
  CHECK(held.evict(1) == 0);
  copy.reset();
  // Memory pressure drops it (and tells its owner); the budget gets it back.
  // The server's connection lets go of the buffer just after the reader has
  // its last byte: evict is tried until then (a 10 s bound).
  uint64_t evicted = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((evicted = held.evict(1)) == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(evicted == bytes->size());
  CHECK(dropped == 1);
  CHECK(held.find(42) == nullptr);
  CHECK(held.cached_bytes() == 0);
  CHECK(own.store->table().bytes_used() == used_before);
  // A copy whose read fails: a node waiting for its chunks hears so.
  auto broken = held.start_copy(43, bytes->size(), {}, progress);
  REQUIRE(broken != nullptr);
  std::thread failer{[&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    held.abort_copy(43);
  }};
  auto why = fetch_object({{"127.0.0.1", server.port()}}, "secret", 43, bytes->size(), out);
  failer.join();
  // ("not complete" while it waited, or, asked again, no longer there)
  CHECK((why.find("not complete") != std::string::npos
         || why.find("not on this node") != std::string::npos));
  CHECK(held.cached_bytes() == 0);
}

TEST_CASE("the owner's directory: readers become holders, spread, settle, die and are freed") {
  manta::actors::object_directory dir;
  auto slot = std::make_shared<int>(1); // stands for the object's slot
  // Node 2 is sent a task reading object 9: a holder while it reads.
  dir.add(9, 2, slot);
  CHECK(dir.copies(9) == std::vector<uint16_t>{2});
  // Readers are spread: node 1 (the home) and node 2 alternate first.
  std::vector<uint16_t> holders{1, 2};
  dir.balance(9, holders, 1, slot);
  CHECK(holders.front() == 1);
  holders = {1, 2};
  dir.balance(9, holders, 1, slot);
  CHECK(holders.front() == 2);
  // A task that ended without reporting a copy: its node is no holder.
  dir.add(9, 3, slot);
  dir.settle(9, 3);
  CHECK(dir.copies(9) == std::vector<uint16_t>{2});
  // A reported copy survives its task's end; a dead node is dropped.
  CHECK(dir.confirm(9, 2));
  dir.settle(9, 2);
  dir.add(9, 4, slot);
  CHECK(dir.confirm(9, 4));
  dir.drop_node(2);
  CHECK(dir.copies(9) == std::vector<uint16_t>{4});
  // Memory pressure dropped it there.
  dir.remove(9, 4);
  CHECK(dir.copies(9).empty());
  CHECK(dir.confirm(9, 4)); // read again later
  // The owner frees it: the copies are handed back to be freed.
  CHECK(dir.erase(9) == std::vector<uint16_t>{4});
  CHECK_FALSE(dir.confirm(9, 4)); // a late report: that node frees it
  // An object its owner let go of without a free message (a put): swept.
  dir.add(10, 5, slot);
  CHECK(dir.sweep().empty());
  slot.reset();
  auto gone = dir.sweep();
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].first == 10);
  CHECK(gone[0].second == std::vector<uint16_t>{5});
  CHECK(dir.size() == 0);
}
