@0xfa8ed67fe88a198d;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("manta::schema");

# An object outside a process's memory (a spill file now, a transfer between
# nodes later) is a stream of Cap'n Proto messages: one ObjectHeader, then
# `chunkCount` ObjectChunk messages whose data, concatenated in order, are
# the encoded value. Chunks keep each message well below Cap'n Proto's
# per-list limit and let a writer point at the value's own buffer.

struct ObjectHeader {
  id @0 :UInt64;
  # The object's id (manta::object_id::value()).

  typeName @1 :Text;
  # The value's C++ type, demangled, for people and tools.

  typeSignature @2 :Text;
  # The value's type as the compiler names it (std::type_info::name()):
  # a restore checks it, so bytes are never decoded as another type.

  codec @3 :Text;
  # "raw": the bytes of a contiguous container of trivially copyable
  # elements; "caf": CAF 0.17's binary_serializer applied to the value.

  encodedSize @4 :UInt64;
  # Bytes of the encoded value (sum of the chunks' data sizes).

  memorySize @5 :UInt64;
  # Bytes the value occupies in memory, as the store accounts it.

  chunkCount @6 :UInt32;
  # Number of ObjectChunk messages that follow.
}

struct ObjectChunk {
  offset @0 :UInt64;
  # Position of `data` within the encoded value.

  data @1 :Data;
}

# Between nodes, the owner of an object asks the node holding it for the
# byte range [offset, offset + length) of its encoded value (a CAF message
# carrying the object id, offset and length) and gets one ObjectChunk back
# per request, at most 4 MiB each, until it has `encodedSize` bytes.

# A node that read an object (an ArgRef) keeps the bytes as a cached copy
# and tells the object's owner, which lists it among the object's holders
# (the object directory); a copy that failed, or that memory pressure
# dropped later, is reported with `held` false. Carried as
# (copy, token, ObjectCopy) from the node manager to the owner.

struct ObjectCopy {
  objectId @0 :UInt64;
  size @1 :UInt64;
  # The encoded size.

  held @2 :Bool;
  # True: the node now holds the whole object; false: it no longer does.
}
