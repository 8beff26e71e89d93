#pragma once

// A user type as users write them, with CAF's `inspect`: the value that the
// fuzz targets (fuzz_targets.hpp) decode from arbitrary bytes and that
// spill_test spills to disk and reads back. It stays in manta_fuzz under
// its name, which the spill files of the fuzz corpus carry.

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace manta_fuzz {

/// A user type with CAF's `inspect`, as users write them.
struct record {
  std::string name;
  int32_t count = 0;
  std::vector<double> values;
  std::map<std::string, int64_t> tags;
  friend bool operator==(const record&, const record&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record& x) {
  return f(caf::meta::type_name("record"), x.name, x.count, x.values, x.tags);
}

} // namespace manta_fuzz
