// Spilling: objects beyond the node's memory budget go to disk in the
// Cap'n Proto-framed format of schemas/object.capnp and come back byte-exact
// on get, get_shared and as task arguments; spill files go with their
// objects and with the runtime.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/core/codec.hpp>
#include <manta/manta.hpp>

#include "tests/fuzz/user_record.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <thread>
#include <csignal>
#include <cstring>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// A user type made serializable with CAF's `inspect` idiom.
using sample = manta_fuzz::record;

std::string test_dir() {
  return "/tmp/manta-spill-test-" + std::to_string(::getpid());
}

struct spill_runtime {
  explicit spill_runtime(size_t budget, bool spilling = true, std::string dir = test_dir()) {
    manta::init_options opts;
    opts.num_cpus = 2;
    opts.object_store_memory = budget;
    opts.object_spill_directory = std::move(dir);
    opts.object_spilling = spilling;
    manta::init(std::move(opts));
  }
  ~spill_runtime() { manta::shutdown(); }
};

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> xs(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& b : xs) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return xs;
}

std::map<std::string, std::vector<double>> make_map(int seed) {
  std::map<std::string, std::vector<double>> m;
  for (int k = 0; k < 20; ++k) {
    std::vector<double> v(1000);
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = seed * 1e6 + k * 1e3 + static_cast<double>(i) / 7.0;
    m["key-" + std::to_string(k)] = std::move(v);
  }
  return m;
}

sample make_sample(int seed) {
  sample s;
  s.name = "sample " + std::to_string(seed);
  s.count = seed;
  s.values.resize(20000);
  for (size_t i = 0; i < s.values.size(); ++i)
    s.values[i] = seed + static_cast<double>(i) * 0.5;
  s.tags = {{"a", seed}, {"b", -seed}};
  return s;
}

/// Large enough to be spilled (the store counts the vector's buffer).
std::vector<sample> make_samples(int seed) {
  std::vector<sample> out;
  for (int i = 0; i < 1000; ++i) {
    auto s = make_sample(seed + i);
    s.values.resize(50);
    out.push_back(std::move(s));
  }
  return out;
}

size_t files_in(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec))
    return 0;
  size_t n = 0;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    (void)e;
    ++n;
  }
  return n;
}

uint64_t sum_bytes(const std::vector<uint8_t>& xs) {
  return std::accumulate(xs.begin(), xs.end(), uint64_t{0});
}

MANTA_REMOTE(sum_bytes);

} // namespace

TEST_CASE("codec: encode/decode round trips, raw and inspect-based") {
  auto bytes = pattern(100000, 1);
  auto enc = manta::detail::encode(bytes);
  CHECK(enc.size() == bytes.size()); // raw: the bytes themselves
  std::vector<uint8_t> back;
  REQUIRE(!manta::detail::decode(std::span<const char>{enc}, back));
  CHECK(back == bytes);
  auto s = make_sample(3);
  sample s2;
  auto enc2 = manta::detail::encode(s);
  REQUIRE(!manta::detail::decode(std::span<const char>{enc2}, s2));
  CHECK(s2 == s);
  // Truncated input is an error value, not a crash.
  sample s3;
  CHECK(manta::detail::decode(std::span<const char>{enc2.data(), enc2.size() / 2}, s3));
  static_assert(manta::detail::is_encodable_v<sample>);
  static_assert(!manta::detail::is_encodable_v<std::vector<int*>>);
}

TEST_CASE("spilled objects come back byte-exact through get, get_shared and task args") {
  spill_runtime rt{4u << 20};
  auto bytes = pattern(3u << 20, 42);
  auto expected_sum = sum_bytes(bytes);
  auto r1 = manta::put(bytes);
  auto r2 = manta::put(make_map(7));
  auto r3 = manta::put(make_samples(9));
  // Push r1 out: 3 MiB more of the same pattern family.
  auto filler = manta::put(pattern(3u << 20, 43));
  CHECK(!r1.slot()->resident());
  // The map (CAF path, nested containers) and the user type (inspect).
  CHECK(r2.slot()->spill() > 0);
  CHECK(r3.slot()->spill() > 0);
  auto summary = manta::memory_summary();
  MESSAGE(summary.to_string());
  CHECK(summary.spilled_objects == 3);
  CHECK(summary.bytes_in_memory <= (4u << 20));
  CHECK(files_in(test_dir()) == 3);
  CHECK(manta::get(r1) == bytes);
  CHECK(manta::get(r2) == make_map(7));
  CHECK(*manta::get_shared(r3) == make_samples(9));
  CHECK(r3.slot()->resident());
  // Spill r1 again (it has a file already: no I/O) and read it in a task.
  REQUIRE(r1.slot()->spill() > 0);
  CHECK(!r1.slot()->resident());
  CHECK(manta::get(manta::task(sum_bytes).remote(r1)) == expected_sum);
  CHECK(manta::get(filler) == pattern(3u << 20, 43));
}

TEST_CASE("a store filled 5x over its budget gives every object back") {
  constexpr size_t budget = 8u << 20;
  constexpr size_t each = 1u << 20;
  spill_runtime rt{budget};
  std::vector<manta::object_ref<std::vector<uint8_t>>> refs;
  for (uint32_t i = 0; i < 5 * budget / each; ++i)
    refs.push_back(manta::put(pattern(each, i)));
  auto summary = manta::memory_summary();
  CHECK(summary.bytes_in_memory <= budget);
  CHECK(summary.spilled_objects >= refs.size() - budget / each);
  for (uint32_t i = 0; i < refs.size(); ++i)
    REQUIRE(manta::get(refs[i]) == pattern(each, i));
  // Reading them back kept to the budget by spilling others in turn.
  CHECK(manta::memory_summary().bytes_in_memory <= budget + each);
}

/// Whether the store lists object `id` (in memory or spilled).
bool listed(manta::object_id id) {
  for (auto& o : manta::memory_summary().objects)
    if (o.id == id)
      return true;
  return false;
}

/// A value over the spill threshold holding refs.
using refs_value = std::pair<std::vector<uint8_t>, std::vector<manta::object_ref<std::string>>>;

TEST_CASE("a value holding refs is spilled and keeps their objects while it lives") {
  spill_runtime rt{16u << 20};
  auto inner = manta::put(std::string{"inner"});
  auto other = manta::put(std::string{"other"});
  auto inner_id = inner.id();
  auto other_id = other.id();
  auto outer = manta::put(refs_value{pattern(1u << 20, 6), {inner, other, inner}});
  inner = {};
  other = {};
  REQUIRE(outer.slot()->spill() > 0);
  CHECK(!outer.slot()->resident());
  CHECK(files_in(test_dir()) == 1);
  // Only the spilled value holds them now.
  CHECK(listed(inner_id));
  CHECK(listed(other_id));
  {
    auto back = manta::get(outer); // read back from disk
    CHECK(back.first == pattern(1u << 20, 6));
    REQUIRE(back.second.size() == 3);
    CHECK(back.second[0].id() == inner_id);
    CHECK(back.second[1].id() == other_id);
    CHECK(back.second[0] == back.second[2]); // the same object, as before
    CHECK(manta::get(back.second[0]) == "inner");
    CHECK(manta::get(back.second[1]) == "other");
  }
  // Spilled again (its file is still there: no I/O), then written anew.
  REQUIRE(outer.slot()->spill() > 0);
  CHECK(listed(inner_id));
  CHECK(manta::get(outer).second.size() == 3);
  REQUIRE(outer.slot()->spill(true) > 0);
  CHECK(listed(inner_id));
  CHECK(manta::get(manta::get(outer).second[1]) == "other");
  REQUIRE(outer.slot()->spill() > 0);
  // Freed while on disk: its file and the objects its refs named go.
  outer = {};
  CHECK(files_in(test_dir()) == 0);
  CHECK(!listed(inner_id));
  CHECK(!listed(other_id));
}

TEST_CASE("a value holding refs is spilled under memory pressure") {
  spill_runtime rt{4u << 20};
  auto inner = manta::put(std::string{"kept"});
  auto inner_id = inner.id();
  auto outer = manta::put(refs_value{pattern(3u << 20, 7), {inner}});
  inner = {};
  auto filler = manta::put(pattern(3u << 20, 8)); // no room for both
  CHECK(!outer.slot()->resident());
  CHECK(listed(inner_id));
  CHECK(manta::get(manta::get(outer).second.at(0)) == "kept");
  filler = {};
  outer = {};
  CHECK(!listed(inner_id));
}

TEST_CASE("spill files go when their object is freed and at shutdown") {
  {
    spill_runtime rt{2u << 20};
    auto a = manta::put(pattern(1500000, 1));
    auto b = manta::put(pattern(1500000, 2)); // spills a
    REQUIRE(files_in(test_dir()) == 1);
    CHECK(manta::memory_summary().spill_bytes_on_disk >= 1500000);
    a = {};
    CHECK(files_in(test_dir()) == 0);
    CHECK(manta::memory_summary().spill_files == 0);
    auto c = manta::put(pattern(1500000, 3)); // spills b
    CHECK(files_in(test_dir()) == 1);
  }
  CHECK(!fs::exists(test_dir()));
}

TEST_CASE("pinned or unspillable objects make put fail instead of spilling them") {
  SUBCASE("spilling disabled") {
    spill_runtime rt{2u << 20, false};
    auto a = manta::put(pattern(1500000, 1));
    CHECK_THROWS_AS(manta::put(pattern(1500000, 2)), manta::object_store_full_error);
    CHECK(manta::get(a) == pattern(1500000, 1));
  }
  SUBCASE("a get_shared result pins its object") {
    spill_runtime rt{2u << 20};
    auto a = manta::put(pattern(1500000, 1));
    auto held = manta::get_shared(a);
    std::string message;
    try {
      manta::put(pattern(1500000, 2));
    } catch (const manta::object_store_full_error& e) {
      message = e.what();
    }
    CHECK(message.find("get_shared") != std::string::npos);
    held.reset(); // now it may go to disk
    CHECK_NOTHROW(manta::put(pattern(1500000, 2)));
    CHECK(!a.slot()->resident());
    CHECK(manta::get(a) == pattern(1500000, 1));
  }
}

TEST_CASE("a value read through get_shared counts in the budget until its last pointer goes") {
  auto in_memory = [] { return manta::memory_summary().bytes_in_memory; };
  SUBCASE("nothing to spill: the next put fails instead of over-committing") {
    spill_runtime rt{2u << 20};
    auto a = manta::put(pattern(1500000, 1));
    auto held = manta::get_shared(a);
    a = {}; // the object is freed; its value lives on in `held`
    CHECK(in_memory() >= 1500000);
    std::string message;
    try {
      manta::put(pattern(1500000, 2));
    } catch (const manta::object_store_full_error& e) {
      message = e.what();
    }
    MESSAGE(message);
    CHECK(message.find("values of freed objects still in use (get_shared") != std::string::npos);
    CHECK(in_memory() <= (2u << 20));
    CHECK(*held == pattern(1500000, 1)); // the reader's value is intact
    held.reset();
    CHECK(in_memory() == 0);
    CHECK_NOTHROW(manta::put(pattern(1500000, 2)));
  }
  SUBCASE("the next put spills another object instead") {
    spill_runtime rt{4u << 20};
    auto c = manta::put(pattern(1500000, 3));
    auto a = manta::put(pattern(1500000, 1));
    auto held = manta::get_shared(a);
    a = {};
    auto b = manta::put(pattern(1500000, 2)); // 4.5 MB wanted: c goes to disk
    CHECK(!c.slot()->resident());
    CHECK(in_memory() <= (4u << 20));
    CHECK(manta::get(b) == pattern(1500000, 2));
    CHECK(*held == pattern(1500000, 1));
  }
}

TEST_CASE("a value larger than the whole budget is refused at once") {
  spill_runtime rt{1u << 20};
  try {
    manta::put(pattern(2u << 20, 1));
    FAIL("put should have thrown");
  } catch (const manta::object_store_full_error& e) {
    CHECK(std::string{e.what()}.find("even in an empty store") != std::string::npos);
  }
}

namespace {

/// Puts 256 KiB values into a 1 MiB store until one does not fit; the
/// error's text ("" if none failed within 40).
std::string fill_until_full(std::vector<manta::object_ref<std::vector<uint8_t>>>& keep) {
  for (uint32_t i = 0; i < 40; ++i) {
    try {
      keep.push_back(manta::put(pattern(256 * 1024, i)));
    } catch (const manta::object_store_full_error& e) {
      return e.what();
    }
  }
  return {};
}

} // namespace

TEST_CASE("a full spill disk is an object_store_full_error naming the directory and the fix") {
  // A 1 MiB tmpfs as the spill disk, if this process may mount one (root).
  auto mount_point = test_dir() + "-tmpfs";
  fs::create_directories(mount_point);
  if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=1m") != 0) {
    MESSAGE("skipped: cannot mount a 1 MiB tmpfs (" << std::strerror(errno)
                                                    << "); the file size limit case below "
                                                       "covers the same path");
    fs::remove(mount_point);
    return;
  }
  struct unmount {
    std::string path;
    ~unmount() {
      ::umount2(path.c_str(), MNT_DETACH);
      ::rmdir(path.c_str());
    }
  } guard{mount_point};
  auto dir = mount_point + "/spill";
  std::string message;
  {
    spill_runtime rt{1u << 20, true, dir};
    std::vector<manta::object_ref<std::vector<uint8_t>>> keep;
    message = fill_until_full(keep);
    CAPTURE(message);
    CHECK(message.find("the object store is full") != std::string::npos);
    CHECK(message.find("The spill directory '" + dir + "' is full") != std::string::npos);
    CHECK(message.find("free there") != std::string::npos);
    CHECK(message.find("--object-spill-dir") != std::string::npos);
    CHECK(message.find("shared via get_shared") == std::string::npos);
    // What did fit on disk still comes back.
    CHECK(manta::get(keep.front()) == pattern(256 * 1024, 0));
  }
}

TEST_CASE("a spill file over the file size limit is reported as a full disk") {
  // RLIMIT_FSIZE: a write past it fails with EFBIG (SIGXFSZ ignored), as a
  // full disk fails mid-file.
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  std::string message;
  {
    spill_runtime rt{1u << 20};
    rlimit small = old;
    small.rlim_cur = 128 * 1024;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::vector<manta::object_ref<std::vector<uint8_t>>> keep;
    message = fill_until_full(keep);
    ::setrlimit(RLIMIT_FSIZE, &old);
    CHECK(files_in(test_dir()) == 0); // no partial file left behind
  }
  std::signal(SIGXFSZ, old_handler);
  CAPTURE(message);
  CHECK(message.find("The spill directory '" + test_dir() + "' is full") != std::string::npos);
  CHECK(message.find(std::strerror(EFBIG)) != std::string::npos);
  CHECK(message.find("--object-spill-dir") != std::string::npos);
  CHECK(message.find("shared via get_shared") == std::string::npos);
}
