#include "manta/net/wire.hpp"

#include "manta/net/wire_reader.hpp"

#include "schemas/object.capnp.h"

namespace manta::detail::wire {

// schema::ObjectCopy and schema::ObjectChunk: an object's copies and bytes.

template <class F>
void fields(F&& f, copy_message& x) {
  f(x.object_id, MANTA_WIRE_FIELD(ObjectId));
  f(x.size, MANTA_WIRE_FIELD(Size));
  f(x.held, MANTA_WIRE_FIELD(Held));
}

bytes encode(const copy_message& x) {
  return encode_fields<schema::ObjectCopy>(x);
}

std::string decode(std::span<const char> in, copy_message& out) {
  return decode_fields<schema::ObjectCopy>("ObjectCopy", in, out, [](const copy_message& x) {
    return x.object_id == 0 ? std::string{"no object id"} : std::string{};
  });
}

bytes encode_chunk(uint64_t offset, std::span<const char> data) {
  return build<schema::ObjectChunk>(
    [&](schema::ObjectChunk::Builder b) {
      b.setOffset(offset);
      b.setData(as_data(data));
    },
    data.size());
}

std::string append_chunk(std::span<const char> in, bytes& out) {
  return read_root<schema::ObjectChunk>(
    "ObjectChunk", in, [&](schema::ObjectChunk::Reader r) -> std::string {
      if (r.getOffset() != out.size())
        return "chunk at offset " + std::to_string(r.getOffset()) + ", expected "
               + std::to_string(out.size());
      auto d = r.getData();
      out.insert(out.end(), reinterpret_cast<const char*>(d.begin()),
                 reinterpret_cast<const char*>(d.end()));
      return {};
    });
}

} // namespace manta::detail::wire
