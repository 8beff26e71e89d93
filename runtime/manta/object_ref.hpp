#pragma once

#include "manta/store/borrowers.hpp"
#include "manta/core/codec.hpp"
#include "manta/store/object_slot.hpp"
#include "manta/object_id.hpp"

#include <exception>
#include <string>

#include <type_traits>
#include <utility>

namespace manta {

/// A future for a value of type `T` that lives in the object store: the
/// result of a task, or a value given to `put`. Copying a ref is cheap (one
/// atomic increment) and never copies the value; the value lives as long as
/// some ref to it does. Pass refs to other tasks to build dataflow graphs:
/// a task starts only when the values behind its ref arguments exist.
template <class T>
class object_ref {
public:
  using value_type = T; ///< The type of the referenced value.

  object_ref() noexcept = default;

  /// The id of the referenced object; fixed when the ref is created.
  object_id id() const noexcept { return slot_ ? slot_->id() : object_id{}; }

  /// False for a default-constructed ref.
  explicit operator bool() const noexcept { return slot_ != nullptr; }

  /// True once the value (or the error that replaced it) exists, i.e. a
  /// `get` would not block.
  bool ready() const noexcept { return slot_ && slot_->done(); }

  friend bool operator==(const object_ref& x, const object_ref& y) noexcept { ///< Same object?
    return x.slot_ == y.slot_;
  }

  // -- runtime internals ------------------------------------------------------

  explicit object_ref(detail::slot_ptr slot) noexcept : slot_(std::move(slot)) {} ///< Internal.

  const detail::slot_ptr& slot() const noexcept { return slot_; } ///< Internal.

  /// How a ref crosses nodes inside a value (CAF's `inspect` idiom, for the
  /// codec's inspectors: value_inspector.hpp): as its object's owner, id and the data path serving
  /// its bytes (store/borrowers.hpp). Writing one lends it: the owner
  /// keeps the object until every node that read the ref dropped it.
  /// Reading one gives the owner's own object back, or elsewhere a
  /// borrowed ref whose first `get` fetches the value.
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, object_ref& r)
    requires detail::is_decodable_v<T>
  {
    detail::ref_wire w;
    namespace meta = detail::meta;
    auto save = meta::save_callback([&]() -> detail::value_error {
      if (auto err = detail::lend_ref(r.slot_, typeid(T), w); !err.empty())
        return detail::value_error{std::move(err)};
      return {};
    });
    auto load = meta::load_callback([&]() -> detail::value_error {
      try {
        r.slot_ = detail::borrow_ref(typeid(T), detail::codec_for<T>(), w);
        return {};
      } catch (const std::exception& e) {
        return detail::value_error{std::string{e.what()}};
      }
    });
    return f(meta::type_name("manta::object_ref"), save, w.state, w.owner, w.id, w.holder, w.host,
             w.port, w.size, w.type, w.error, w.error_code, w.error_type, w.error_task,
             w.error_node, w.inlined, w.bytes, load);
  }

private:
  detail::slot_ptr slot_;
};

template <class T>
struct is_object_ref : std::false_type {};

template <class T>
struct is_object_ref<object_ref<T>> : std::true_type {};

template <class T>
inline constexpr bool is_object_ref_v = is_object_ref<std::decay_t<T>>::value; ///< Is `T` a ref?

} // namespace manta
