#pragma once

#include "manta/core/error_kind.hpp"
#include "manta/resources.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

/// The messages that cross nodes, as plain structs, and their Cap'n Proto encodings (schemas/
/// task.capnp, actor.capnp, node.capnp, object.capnp), made from one `fields(f, x)` list per struct
/// in its protocol's wire_*.cpp (wire_fields.hpp), the only files that see the generated code. The
/// actors work with these structs and carry the bytes in CAF messages as `std::vector<char>`.
namespace manta::detail::wire {

using bytes = std::vector<char>;

/// schema::Holder.
struct holder {
  uint16_t node = 0;
  std::string host;
  uint16_t data_port = 0;
};

/// schema::ArgRef.
struct arg_ref {
  uint32_t position = 0;
  uint64_t object_id = 0;
  uint16_t node = 0;
  std::string host;
  uint16_t data_port = 0;
  uint64_t size = 0;
  /// Other holders (copies).
  std::vector<holder> copies;
};

/// schema::ObjectCopy.
struct copy_message {
  uint64_t object_id = 0;
  uint64_t size = 0;
  bool held = false;
};

/// schema::TaskQueue: a worker's word on an owner's tasks queued there, a
/// request to give queued ones back, or the answer (wire_queue.cpp).
struct queue_message {
  std::vector<uint64_t> queued;
  std::vector<uint64_t> started;
  uint32_t limit = 0;
};

/// schema::BundleReservation: bundles of a placement group a node is asked
/// to take (wire_bundles.cpp).
struct bundle_message {
  uint64_t group = 0;
  uint16_t owner = 0;
  std::vector<std::pair<uint32_t, resource_map>> bundles;
};

/// schema::TaskSpec.
struct task_message {
  uint64_t task_id = 0;
  std::string function_name;
  std::string signature;
  std::string name;
  std::vector<bytes> args;
  resource_demand demand;
  int32_t max_retries = 0;
  bool retry_exceptions = false;
  /// Keys of the exception types retried (detail::exception_keys).
  std::vector<std::string> retry_exception_types;
  uint32_t attempt = 1;
  /// 0 for a task; else a call of method `function_name` on this actor.
  uint64_t actor_id = 0;
  /// Arguments read from the node holding them (their `args` are empty).
  std::vector<arg_ref> arg_refs;
  /// The sender's hash of the parameter and result layouts (0: not given).
  uint64_t layout_hash = 0;
  /// The owner's job (the head's id; empty if it has none).
  std::string job_id;
  /// The job's code search path (code_loader.hpp): the libraries (or
  /// folders of them) holding the function; empty: the receiver's binary.
  std::vector<std::string> code;
  /// A streaming generator's back pressure: items yielded and not read by
  /// the owner that the producer may have (0: no limit).
  uint64_t item_window = 0;
};

/// schema::ActorSpec.
struct actor_message {
  uint64_t actor_id = 0;
  std::string class_name;
  std::string constructor_key;
  std::string name;
  std::vector<bytes> args;
  resource_demand demand;
  int32_t max_restarts = 0;
  int32_t max_task_retries = 0;
  bool retry_exceptions = false;
  std::vector<std::string> retry_exception_types;
  int32_t max_concurrency = 0; // 0: the class's default
  int32_t restarts = 0;
  /// lifetime_detached(): kept when the owner's connection closes.
  bool detached = false;
  /// The owner's job (the head's id).
  std::string job_id;
  /// The job's code search path, as for a task_message.
  std::vector<std::string> code;
};

/// schema::ActorCreated.
struct actor_created_message {
  uint64_t actor_id = 0;
  std::string error; // empty: created
};

/// schema::TaskFailure. Made from an exception and back into one only by
/// wire_failure.hpp; the behaviour that depends on a failure reads `kind`.
struct failure_message {
  std::string type_name; // kind task_error: the exception's type; else empty
  std::string message;
  std::string task_name;
  std::string node;
  error_kind kind = error_kind::task_error;
  /// The task's retry policy covers it: its owner may run it again.
  bool retryable = false;
};

/// schema::TaskResult.
struct result_message {
  enum kind_t : uint8_t { inline_value, stored, failure };
  uint64_t task_id = 0;
  std::string node;
  kind_t kind = inline_value;
  /// inline_value: the encoded value, not owned, so that it is copied once
  /// on its way out (written into the message by `encode`) and not at all
  /// on its way in: it points at the bytes it is sent from, or, decoded,
  /// into the message's bytes, which the reader keeps while it reads it.
  std::span<const char> value;
  uint64_t stored_size = 0; // stored
  failure_message error; // failure
};

/// schema::LogLine.
struct log_line {
  uint64_t task_id = 0;
  bool to_stderr = false;
  std::string text;
};

/// schema::LogBatch: lines tasks printed on a worker, for their owner.
struct log_batch {
  std::string node;
  std::vector<log_line> lines;
  uint64_t dropped = 0;
};

/// schema::BuildEntry: one function, actor class or actor constructor.
struct build_entry {
  std::string key;
  uint64_t hash = 0;
  std::string signature;
  std::vector<std::string> parts;
};

/// schema::Build: what a binary registered (build_fingerprint.hpp).
struct build_info {
  uint64_t hash = 0;
  std::vector<build_entry> entries;
};

/// schema::NodeInfo.
struct node_record {
  uint16_t index = 0;
  std::string host;
  uint16_t port = 0;
  uint32_t pid = 0;
  double cpus = 0;
  resource_map custom;
  bool driver = false;
  /// The object transfer server's port (0: none).
  uint16_t data_port = 0;
  /// The process's build fingerprint (empty: not sent).
  build_info build;
  /// A driver's job id (empty at a first join without MANTA_JOB_ID).
  std::string job_id;
};

/// schema::ClusterView.
struct cluster_view {
  uint16_t your_index = 0;
  std::vector<node_record> nodes;
  /// A driver's job id, as the head recorded it.
  std::string your_job;
};

/// What a decoder accepts from another process or from disk. Bytes from the
/// network are untrusted: a peer of another version, a corrupted transfer or
/// a hostile client must get an error value, never a crash, a hang or an
/// allocation it chose. Process-wide; tests and `MANTA_MAX_MESSAGE_BYTES`
/// change it.
struct decode_limits {
  /// Largest encoded message accepted (1 GiB: objects travel in 4 MiB
  /// chunks, and only inline task arguments come near this).
  size_t max_message_bytes = size_t{1} << 30;
  /// Cap'n Proto's traversal limit is this many times the message's size in
  /// words (plus a little): a well-formed message is read once, so this
  /// bounds the work a crafted one (shared or zero-sized list elements,
  /// Cap'n Proto's amplification attack) can cause.
  uint64_t traversal_factor = 4;
};

/// The limits in force: the defaults, or `MANTA_MAX_MESSAGE_BYTES` (read
/// once), or what `set_decode_limits` set.
decode_limits current_decode_limits() noexcept;
void set_decode_limits(const decode_limits& x) noexcept;

bytes encode(const task_message& x);
bytes encode(const result_message& x);
bytes encode(const node_record& x);
bytes encode(const cluster_view& x);
bytes encode(const actor_message& x);
bytes encode(const actor_created_message& x);
bytes encode(const log_batch& x);
bytes encode(const copy_message& x);
bytes encode(const queue_message& x);
bytes encode(const bundle_message& x);

/// Decoders return an empty string on success, else what was wrong (which
/// message, why, and a hint). Besides well-formed Cap'n Proto they check
/// what the runtime relies on: finite, non-negative resource amounts, a
/// sane retry count, a host and port for every worker.
std::string decode(std::span<const char> in, task_message& out);
std::string decode(std::span<const char> in, result_message& out);
std::string decode(std::span<const char> in, node_record& out);
std::string decode(std::span<const char> in, cluster_view& out);
std::string decode(std::span<const char> in, actor_message& out);
std::string decode(std::span<const char> in, actor_created_message& out);
std::string decode(std::span<const char> in, log_batch& out);
std::string decode(std::span<const char> in, copy_message& out);
std::string decode(std::span<const char> in, queue_message& out);
std::string decode(std::span<const char> in, bundle_message& out);

/// The enumerants of schemas/task.capnp's ErrorKind, in code order, as the
/// schema spells them (camelCase): wire_test checks error_kind.hpp against
/// them, so a kind added to one and not the other fails a test.
std::vector<std::string> schema_error_kinds();

/// schema::Batch of encoded messages of one kind.
bytes encode_batch(const std::vector<bytes>& items);
std::string decode_batch(std::span<const char> in, std::vector<bytes>& out);

/// schema::ObjectChunk holding `data` taken from `offset`.
bytes encode_chunk(uint64_t offset, std::span<const char> data);

/// Appends the chunk's data to `out` after checking that it starts at
/// `out.size()`; returns an error text on mismatch or malformed input.
std::string append_chunk(std::span<const char> in, bytes& out);

} // namespace manta::detail::wire
