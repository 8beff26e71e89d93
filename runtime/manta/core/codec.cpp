#include "manta/core/codec.hpp"

#include <stdexcept>

namespace manta::detail {

value_error chunk_total_error(size_t sum, size_t total) {
  return codec_error("the chunks hold " + std::to_string(sum) + " bytes, not the "
                     + std::to_string(total) + " announced");
}

value_error element_size_error(size_t total, size_t element_size) {
  return codec_error("encoded size " + std::to_string(total)
                     + " is not a multiple of the element size " + std::to_string(element_size));
}

value_error array_size_error(size_t total, size_t array_size) {
  return codec_error("encoded size " + std::to_string(total) + " does not match "
                     + std::to_string(array_size) + " bytes of the array");
}

value_error leftover_error(size_t remaining) {
  return codec_error(std::to_string(remaining) + " bytes left over after decoding");
}

void throw_encode_error(const value_error& err) {
  throw std::runtime_error("manta::detail::encode: " + error_text(err));
}

const char* joined_bytes(const byte_chunks& chunks, size_t total, std::vector<char>& joined) {
  if (chunks.size() == 1)
    return chunks.front().data();
  joined.reserve(total);
  for (auto c : chunks)
    joined.insert(joined.end(), c.begin(), c.end());
  return joined.data();
}

} // namespace manta::detail
