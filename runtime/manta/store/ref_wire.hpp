#pragma once

#include <cstdint>
#include <exception>
#include <span>
#include <string>
#include <vector>

/// A ref's wire form (docs/cluster.md, "Borrowed refs"): what an
/// `object_ref` inside a value, and the owner's answer to a borrower of a
/// pending one, carry; and the failure a ref to a failed object carries,
/// so that reading it elsewhere raises what reading it here raises.
namespace manta::detail {

class object_slot;

/// What a ref is on the wire; `id == 0` for an empty ref.
struct ref_wire {
  enum : uint8_t { empty = 0, ready = 1, pending = 2, failed = 3 };
  uint8_t state = empty;
  uint16_t owner = 0;  ///< the node that counts the ref's borrowers
  uint64_t id = 0;
  uint16_t holder = 0; ///< the node whose data path serves the bytes
  std::string host;
  uint16_t port = 0;
  uint64_t size = 0;   ///< encoded size of the value
  std::string type;    ///< the value's type (mangled), checked on arrival
  /// failed: what reading it raises, as a failure crossing nodes travels
  /// (net/wire_failure.hpp): the error's text, its kind's code
  /// (core/error_kind.hpp), and for an exception of the user's own (kind
  /// task_error) its type name, task and node.
  std::string error;
  uint16_t error_code = 0;
  std::string error_type;
  std::string error_task;
  std::string error_node;
  /// The encoded value itself when it is small (`ref_inline_bytes`), so the
  /// borrower reads it without a connection (Ray inlines small objects too);
  /// the ref is borrowed and counted all the same.
  std::vector<char> bytes;
  bool inlined = false;
};

/// Values whose encoding is at most this size travel inside their refs.
inline constexpr uint64_t ref_inline_bytes = 64 * 1024;

/// `w` as bytes: the message that resolves a borrower's pending ref
/// (`ref_resolutions`).
std::vector<char> encode_ref_wire(const ref_wire& w);

/// Reads bytes `encode_ref_wire` wrote; false if they are not a ref.
bool decode_ref_wire(std::span<const char> bytes, ref_wire& w);

/// Writes into `w` why `slot` failed, as a task's failure crosses nodes.
void write_failure(const object_slot& slot, ref_wire& w);

/// Writes into `w` that object `id` cannot be read (`object_lost_error`,
/// or `owner_died_error` when `owner_died`: its owner is gone), saying why.
void write_lost(uint64_t id, const std::string& why, ref_wire& w, bool owner_died = false);

/// What reading the failed ref `w` raises here (a code this build does
/// not know: `object_lost_error` naming it).
std::exception_ptr failure_of(const ref_wire& w);

} // namespace manta::detail
