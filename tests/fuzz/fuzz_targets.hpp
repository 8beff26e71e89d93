#pragma once

// The fuzz targets: one function per decoder of bytes that come from another
// process or from disk. Each decodes arbitrary bytes; what it accepts must
// re-encode to something that decodes to the same value (else it traps).
// Built into libFuzzer binaries by tools/fuzz.sh (tests/fuzz/*_fuzz.cpp) and
// replayed over tests/fuzz/corpus/ by tests/fuzz_corpus_test.cpp in the
// normal build, so a crash found once stays fixed.

#include <manta/core/codec.hpp>
#include <manta/store/spill_store.hpp>
#include <manta/net/wire.hpp>

#include "tests/fuzz/user_record.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace manta_fuzz {

namespace wire = manta::detail::wire;

/// Stops the run when a property does not hold (libFuzzer reports it).
inline void require(bool ok) {
  if (!ok)
    __builtin_trap();
}

inline std::span<const char> as_chars(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

template <class Message>
void round_trip(std::span<const char> in) {
  Message out;
  if (!wire::decode(in, out).empty())
    return;
  auto again = wire::encode(out);
  Message out2;
  require(wire::decode(again, out2).empty());
  require(wire::encode(out2) == again);
}

inline int wire_task(const uint8_t* data, size_t size) {
  round_trip<wire::task_message>(as_chars(data, size));
  // A Batch of TaskSpecs, as a node receives them.
  std::vector<wire::bytes> items;
  if (wire::decode_batch(as_chars(data, size), items).empty()) {
    std::vector<wire::bytes> again;
    require(wire::decode_batch(wire::encode_batch(items), again).empty() && again == items);
    for (auto& item : items)
      round_trip<wire::task_message>(item);
  }
  return 0;
}

inline int wire_result(const uint8_t* data, size_t size) {
  round_trip<wire::result_message>(as_chars(data, size));
  return 0;
}

inline int wire_node(const uint8_t* data, size_t size) {
  round_trip<wire::node_record>(as_chars(data, size));
  round_trip<wire::cluster_view>(as_chars(data, size));
  return 0;
}

inline int wire_actor(const uint8_t* data, size_t size) {
  round_trip<wire::actor_message>(as_chars(data, size));
  round_trip<wire::actor_created_message>(as_chars(data, size));
  return 0;
}

inline int wire_logs(const uint8_t* data, size_t size) {
  round_trip<wire::log_batch>(as_chars(data, size));
  return 0;
}

inline int wire_chunk(const uint8_t* data, size_t size) {
  // The first byte says how many bytes the receiver already has.
  if (size == 0)
    return 0;
  wire::bytes out(data[0], 'x');
  auto before = out.size();
  if (wire::append_chunk(as_chars(data + 1, size - 1), out).empty())
    require(out.size() >= before);
  else
    require(out.size() == before);
  return 0;
}

template <class T>
void codec_round_trip(std::span<const char> in) {
  T out{};
  if (manta::detail::decode(in, out))
    return;
  auto again = manta::detail::encode(out);
  T out2{};
  require(!manta::detail::decode(again, out2));
  require(manta::detail::encode(out2) == again); // bytes: NaN != NaN
}

inline int codec(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  auto in = as_chars(data + 1, size - 1);
  switch (data[0] % 7) {
    case 0:
      codec_round_trip<std::string>(in);
      break;
    case 1:
      codec_round_trip<std::vector<int64_t>>(in);
      break;
    case 2:
      codec_round_trip<std::array<int32_t, 4>>(in);
      break;
    case 3:
      codec_round_trip<std::map<std::string, std::vector<int32_t>>>(in);
      break;
    case 4:
      codec_round_trip<record>(in);
      break;
    case 5:
      codec_round_trip<std::vector<std::string>>(in);
      break;
    default: {
      // Raw elements of 12 bytes, split into two chunks anywhere.
      using elem = std::array<int32_t, 3>;
      std::vector<elem> out;
      auto cut = in.empty() ? 0 : static_cast<uint8_t>(in[0]) % (in.size() + 1);
      manta::detail::byte_chunks chunks = {in.subspan(0, cut), in.subspan(cut)};
      if (!manta::detail::decode_from(chunks, in.size(), out))
        require(out.size() * sizeof(elem) == in.size()
                && (in.empty() || std::memcmp(out.data(), in.data(), in.size()) == 0));
    }
  }
  return 0;
}

/// The object id and types a spill file must match (seeds are written for
/// them by tools/fuzz.sh's seed maker).
inline constexpr uint64_t spill_id = 0x1234;

inline int spill_file(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  // Spill files are mapped, so 8-byte aligned: copy the input to such memory.
  std::vector<uint64_t> words((size - 1 + 7) / 8);
  if (size > 1)
    std::memcpy(words.data(), data + 1, size - 1);
  std::span<const char> file{reinterpret_cast<const char*>(words.data()), size - 1};
  std::shared_ptr<const void> out;
  if (data[0] % 2 == 0) {
    using T = std::vector<int64_t>;
    manta::detail::decode_spill_file(file, "fuzz.obj", manta::object_id{spill_id}, typeid(T),
                                     *manta::detail::codec_for<T>(), out);
  } else {
    manta::detail::decode_spill_file(file, "fuzz.obj", manta::object_id{spill_id}, typeid(record),
                                     *manta::detail::codec_for<record>(), out);
  }
  return 0;
}

struct target {
  const char* name;
  int (*run)(const uint8_t*, size_t);
};

inline constexpr std::array<target, 8> targets = {{
  {"wire_task", &wire_task},
  {"wire_actor", &wire_actor},
  {"wire_result", &wire_result},
  {"wire_node", &wire_node},
  {"wire_chunk", &wire_chunk},
  {"wire_logs", &wire_logs},
  {"codec", &codec},
  {"spill_file", &spill_file},
}};

} // namespace manta_fuzz
