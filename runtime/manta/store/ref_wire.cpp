#include "manta/store/ref_wire.hpp"

#include "manta/core/codec.hpp"
#include "manta/core/runtime.hpp"
#include "manta/errors.hpp"
#include "manta/net/wire_failure.hpp"
#include "manta/object_id.hpp"
#include "manta/store/object_slot.hpp"

#include <tuple>

namespace manta::detail {

namespace {

/// The fields of a ref's wire form as a tuple, for the codec.
using ref_fields =
  std::tuple<uint8_t, uint16_t, uint64_t, uint16_t, std::string, uint16_t, uint64_t, std::string,
             std::string, uint16_t, std::string, std::string, std::string, bool, std::vector<char>>;

} // namespace

std::vector<char> encode_ref_wire(const ref_wire& w) {
  return encode(ref_fields{w.state, w.owner, w.id, w.holder, w.host, w.port, w.size, w.type,
                           w.error, w.error_code, w.error_type, w.error_task, w.error_node,
                           w.inlined, w.bytes});
}

bool decode_ref_wire(std::span<const char> bytes, ref_wire& w) {
  ref_fields f;
  if (decode(bytes, f))
    return false;
  std::tie(w.state, w.owner, w.id, w.holder, w.host, w.port, w.size, w.type, w.error, w.error_code,
           w.error_type, w.error_task, w.error_node, w.inlined, w.bytes) = std::move(f);
  return true;
}

void write_failure(const object_slot& slot, ref_wire& w) {
  const auto* task = slot.task_name();
  auto f = to_failure(slot.error(), task != nullptr ? *task : std::string{"put"},
                      runtime::node_name());
  w.state = ref_wire::failed;
  w.error = std::move(f.message);
  w.error_code = static_cast<uint16_t>(f.kind);
  w.error_type = std::move(f.type_name);
  w.error_task = std::move(f.task_name);
  w.error_node = std::move(f.node);
}

void write_lost(uint64_t id, const std::string& why, ref_wire& w, bool owner_died) {
  w.state = ref_wire::failed;
  w.error = "object " + to_string(object_id{id}) + " is lost: " + why;
  w.error_code = static_cast<uint16_t>(owner_died ? error_kind::owner_died
                                                  : error_kind::object_lost);
}

std::exception_ptr failure_of(const ref_wire& w) {
  auto kind = error_kind_from_code(w.error_code);
  if (!kind)
    return std::make_exception_ptr(object_lost_error(
      "object " + to_string(object_id{w.id}) + " failed on its owner with an error of kind "
      + std::to_string(w.error_code)
      + ", which this build does not know (do both nodes run the "
        "same binary?): "
      + w.error));
  wire::failure_message f;
  f.kind = *kind;
  f.message = w.error;
  f.type_name = w.error_type;
  f.task_name = w.error_task;
  f.node = w.error_node;
  return from_failure(f);
}

} // namespace manta::detail
