#pragma once

#include <chrono>
#include <string>
#include <vector>

/// A borrower's second way to an object's bytes (docs/cluster.md,
/// "Borrowed refs"): when the holder its ref named cannot serve them (that
/// node died), the worker asks the object's owner where they are now. The
/// owner answers with a live copy, or rebuilds the object from its lineage
/// first if none is left (actors/borrowed_where.cpp), as its own `get`
/// would; Ray's owners reconstruct objects for their borrowers the same
/// way.
namespace manta::detail {

struct remote_object;

/// The longest a borrower waits for its owner's answer when its read has
/// no deadline of its own (`get` without a timeout): the answer may wait
/// for a rebuild, which runs the object's task again.
inline constexpr std::chrono::minutes owner_where_limit{10};

/// For `obj`, a record a node lent this one, whose read from its holder
/// failed with `first_err`: asks the owner (through this worker's node
/// manager) where the bytes are now and reads them from there into `out`,
/// asking again while the owner still names the holder that failed (it has
/// not noticed its death yet), within `read_deadline()` or
/// `owner_where_limit`. Returns an empty string on success, else what
/// failed (the first error and the owner's answer). On a driver, which
/// has no owner to ask (docs/cluster.md, "Holder lost"), `first_err`, or,
/// when the owner is gone or unreachable, throws `owner_died_error` (the
/// object went with it); for bytes that came inside their ref, `first_err`
/// as it is. Throws `get_timeout_error` when the reader's own deadline
/// passes.
std::string read_via_owner(const remote_object& obj, const std::string& first_err,
                           std::vector<char>& out);

} // namespace manta::detail
