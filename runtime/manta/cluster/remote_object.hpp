#pragma once

#include "manta/net/wire.hpp"
#include "manta/object_id.hpp"

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <vector>

namespace manta::detail {

class object_slot;
struct value_codec;

/// The owner's record of a task result that stayed on the node that made it
/// (ownership, as in Ray): where its bytes are, how large they are, and the
/// lineage that rebuilds it if that node dies. Held by the result's slot
/// (which is sealed but not resident); the cluster client moves it when a
/// rebuild places it elsewhere. Freed objects are dropped on their node.
struct remote_object {
  remote_object(object_id oid, uint16_t where, uint64_t size, wire::bytes spec,
                resource_demand need, int retries)
    : id(oid), node(where), encoded_size(size), lineage(std::move(spec)), demand(std::move(need)),
      retries_left(retries) {}
  ~remote_object();

  remote_object(const remote_object&) = delete;
  remote_object& operator=(const remote_object&) = delete;

  const object_id id;
  /// The node holding the bytes; changed only by the cluster client actor.
  std::atomic<uint16_t> node;
  /// Size of the encoded value.
  std::atomic<uint64_t> encoded_size;
  /// The encoded TaskSpec that produced the value (arguments inline).
  const wire::bytes lineage;
  const resource_demand demand;
  /// Rebuilds still allowed (the task's max_retries); client actor only.
  int retries_left;

  /// An argument its task read by reference (an ArgRef), kept alive with
  /// this record so that a rebuild can read it, or rebuild it first if it
  /// was lost too (a chain); `id` is the one its holders keep it under.
  struct kept_argument {
    uint64_t id = 0;
    std::shared_ptr<object_slot> slot;
  };
  /// Set once, before the record is shared, only where
  /// `keeps_arguments` (object_loss.hpp) allows it.
  std::vector<kept_argument> arguments;
  /// Encoded bytes that `arguments` keep alive, theirs included.
  uint64_t pinned_bytes = 0;

  /// Set for an object another node lent this one inside a value
  /// (borrowers.hpp): the owner that counts its borrowers, and the data
  /// path that serves its bytes. Such a record is read straight from that
  /// data path, and its end tells the owner this node let go instead of
  /// freeing the object.
  struct lender_info {
    uint16_t owner = 0;
    std::string host;
    uint16_t port = 0;
    std::optional<wire::bytes> bytes; ///< a small value sent inside its ref
  };
  std::optional<lender_info> lender; ///< set once, before the record is shared
};

using remote_ptr = std::shared_ptr<remote_object>;

/// What a fetch hands back: an error text (empty on success) and the bytes.
using fetch_promise = std::promise<std::pair<std::string, wire::bytes>>;

/// Fetches a remote object's bytes (from its node, or by re-running its
/// task if the node died) and decodes them into `out`. Blocks the calling
/// thread, which must not be one of CAF's scheduler threads. Returns an
/// error text on failure (the object is lost).
std::string fetch_remote(const remote_ptr& obj, const value_codec& codec,
                         std::shared_ptr<const void>& out);

/// Fetches a remote object's encoded bytes (see fetch_remote).
std::string fetch_remote_bytes(const remote_ptr& obj, wire::bytes& out);

} // namespace manta::detail
