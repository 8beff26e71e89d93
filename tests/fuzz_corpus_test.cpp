// Replays every input under tests/fuzz/corpus/<target>/ (seeds and the
// inputs that once crashed a decoder) through the fuzz targets in the
// normal build: a decoder bug the fuzzer found stays fixed.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "tests/fuzz/config_target.hpp"
#include "tests/fuzz/fuzz_targets.hpp"
#include "tests/fuzz/net_targets.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace fs = std::filesystem;

TEST_CASE("the fuzz corpus decodes without a crash") {
  fs::path root{MANTA_FUZZ_CORPUS};
  REQUIRE(fs::is_directory(root));
  size_t total = 0;
  std::vector<manta_fuzz::target> all(manta_fuzz::targets.begin(), manta_fuzz::targets.end());
  all.insert(all.end(), manta_fuzz::net_targets.begin(), manta_fuzz::net_targets.end());
  all.insert(all.end(), manta_fuzz::config_targets.begin(), manta_fuzz::config_targets.end());
  for (auto& t : all) {
    CAPTURE(t.name);
    auto dir = root / t.name;
    REQUIRE(fs::is_directory(dir)); // every target has at least its seeds
    size_t n = 0;
    for (auto& entry : fs::directory_iterator{dir}) {
      CAPTURE(entry.path().string());
      std::ifstream in{entry.path(), std::ios::binary};
      std::vector<char> bytes{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
      CHECK(t.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) == 0);
      ++n;
    }
    CHECK(n > 0);
    total += n;
  }
  MESSAGE(total << " corpus inputs replayed");
}
