#pragma once

#include "manta/object_id.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

/// The store's door to the values other nodes hold: "bring the bytes of
/// this object" and "where does it live". The local core (store, sched,
/// actor) includes no cluster code (issue 22): a slot sealed with
/// `object_slot::seal_remote` keeps the cluster's record of such a value
/// (`remote_object`) behind a pointer it never looks into, and asks these
/// functions for what only the cluster knows (nodes, data paths, lineage).
/// Declared here, by the code that needs them; implemented by the cluster
/// (cluster/far_objects.cpp).
namespace manta::detail {

class runtime;
struct ref_wire;
struct remote_object;
struct value_codec;
using remote_ptr = std::shared_ptr<remote_object>;

/// Brings the value `obj` records from the node that holds it (or rebuilds
/// it by re-running its task if that node died) and decodes it into
/// `out`. Blocks the calling thread, which must not be one of CAF's
/// scheduler threads. Returns an error text on failure (the object is
/// lost).
std::string fetch_far_value(const remote_ptr& obj, const value_codec& codec,
                            std::shared_ptr<const void>& out);

/// The record of object `id`, `size` encoded bytes that node `node` keeps
/// for this one (a large generator item): dropping it frees them there.
remote_ptr kept_record(object_id id, uint16_t node, uint64_t size);

/// The record of object `id` that node `owner` lent this one: `size`
/// encoded bytes, served by node `holder`'s data path at `host`:`port`, or
/// sent inside its ref (`bytes`). Its end tells the owner this node let go
/// (borrowers.hpp) instead of freeing the object.
remote_ptr lent_record(object_id id, uint16_t holder, uint64_t size, uint16_t owner,
                       std::string host, uint16_t port,
                       std::optional<std::vector<char>> bytes = std::nullopt);

/// The object a record names, and the size of its encoded value.
object_id record_id(const remote_object& r);
uint64_t record_size(const remote_object& r);

/// The node that lent the record's object to this one (`lent_record`);
/// none for a result this node owns that stayed where it was made.
std::optional<uint16_t> record_lender(const remote_object& r);

/// Whether a ref to the record's object written here carries its value
/// decoded and encoded again (by `codec`) rather than the bytes it came
/// with or the holder it named: on a driver, a value another node lent it,
/// of a type that may hold refs (a raw-coded one holds none). The refs in
/// those bytes name the node that wrote them, which the receiver may have
/// no link to; written again, they are the driver's own (it borrows them
/// meanwhile), so the receiver's +1 and -1 for them reach the driver. A
/// small value goes inside the ref; a large one is served by the driver's
/// data path (ref_location.hpp). A worker passes such a value on as it
/// came, naming its owner, as it passes the ref itself.
bool rewrites_lent(runtime& rt, const remote_object& r, const value_codec* codec);

/// Where another node reads the record's value, for a ref to it written
/// here: fills `w.holder`, `host`, `port` and `size` (and the bytes a lent
/// ref carried). False if the holder is no longer a node `rt` knows.
bool record_location(runtime& rt, const remote_object& r, ref_wire& w);

/// Where this node serves the bytes of its own objects: fills `w.holder`,
/// `host` and `port`. `rt` is in a cluster.
void own_location(runtime& rt, ref_wire& w);

} // namespace manta::detail
