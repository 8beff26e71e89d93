#include "manta/detail/wire.hpp"

#include "manta/detail/wire_reader.hpp"

#include "schemas/object.capnp.h"

namespace manta::detail::wire {

// schema::ObjectCopy and schema::ObjectChunk: an object's copies and bytes.

bytes encode(const copy_message& x) {
  return build<schema::ObjectCopy>([&](schema::ObjectCopy::Builder b) {
    b.setObjectId(x.object_id);
    b.setSize(x.size);
    b.setHeld(x.held);
  });
}

std::string decode(std::span<const char> in, copy_message& out) {
  return read_root<schema::ObjectCopy>("ObjectCopy", in,
                                       [&](schema::ObjectCopy::Reader r) -> std::string {
                                         out.object_id = r.getObjectId();
                                         out.size = r.getSize();
                                         out.held = r.getHeld();
                                         if (out.object_id == 0)
                                           return "no object id";
                                         return {};
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
