#pragma once

#include <string>
#include <type_traits>
#include <utility>

/// What an `inspect` overload may hand the codec's inspectors besides
/// fields, without the public headers including CAF: Manta's own
/// annotations (`meta::type_name`, `meta::save_callback`,
/// `meta::load_callback`), and CAF 0.17's, which user code written for CAF
/// passes (`caf::meta::type_name("point")`, callbacks, `hex_formatted`).
/// CAF's are recognised by their declarations below (a user's `inspect`
/// that names them includes CAF's header, which completes them); they
/// mean what they mean to CAF's binary serializer: a name or format is
/// skipped, a save callback runs when writing, a load callback after the
/// fields before it were read.
namespace caf::meta {
struct annotation;
template <class F>
struct save_callback_t;
template <class F>
struct load_callback_t;
struct type_name_t;
} // namespace caf::meta

namespace manta::detail {

/// The result of an inspector and of the codec: empty when the step
/// worked, else what went wrong. Converts from an error of CAF's idiom
/// (`caf::error`, `caf::none`: anything testable as a bool with a
/// `to_string` found beside it), so overloads and callbacks written for
/// CAF's inspectors return theirs unchanged.
class value_error {
public:
  value_error() noexcept = default;

  explicit value_error(std::string what) : what_(std::move(what)), failed_(true) {}

  template <class E>
    requires(!std::is_same_v<std::remove_cvref_t<E>, value_error>
             && requires(const E& e) {
                  static_cast<bool>(e);
                  { to_string(e) } -> std::convertible_to<std::string>;
                })
  value_error(const E& e) : failed_(static_cast<bool>(e)) { // NOLINT(google-explicit-constructor)
    if (failed_)
      what_ = to_string(e);
  }

  /// True when something went wrong (as `caf::error`'s).
  explicit operator bool() const noexcept { return failed_; }

  /// What went wrong; empty when nothing did.
  const std::string& what() const noexcept { return what_; }

private:
  std::string what_;
  bool failed_ = false;
};

/// The text of a codec error (empty when there is none).
inline const std::string& error_text(const value_error& err) noexcept {
  return err.what();
}

namespace meta {

/// Names the type being inspected (skipped when writing bytes).
struct type_name_t {
  const char* value;
};

constexpr type_name_t type_name(const char* name) noexcept {
  return {name};
}

/// Runs `fun` when a value is written, at its place among the fields; an
/// error it returns stops the writing.
template <class F>
struct save_callback_t {
  F fun;
};

template <class F>
save_callback_t<F> save_callback(F fun) {
  return {std::move(fun)};
}

/// Runs `fun` when a value is read, once the fields listed before it were.
template <class F>
struct load_callback_t {
  F fun;
};

template <class F>
load_callback_t<F> load_callback(F fun) {
  return {std::move(fun)};
}

template <class T>
struct is_save_callback : std::false_type {};
template <class F>
struct is_save_callback<save_callback_t<F>> : std::true_type {};
template <class F>
struct is_save_callback<caf::meta::save_callback_t<F>> : std::true_type {};

template <class T>
struct is_load_callback : std::false_type {};
template <class F>
struct is_load_callback<load_callback_t<F>> : std::true_type {};
template <class F>
struct is_load_callback<caf::meta::load_callback_t<F>> : std::true_type {};

/// Annotations that carry no field: a type name (Manta's or CAF's) or any
/// other of CAF's (`hex_formatted`, `omittable`, ...).
template <class T>
inline constexpr bool is_skipped_v = std::is_same_v<T, type_name_t>
                                     || std::is_base_of_v<caf::meta::annotation, T>;

/// The name a type name annotation carries, or null for anything else.
template <class T>
const char* type_name_of(const T& x) noexcept {
  if constexpr (std::is_same_v<T, type_name_t> || std::is_same_v<T, caf::meta::type_name_t>)
    return x.value;
  else
    return nullptr;
}

/// Runs a callback; its result (`value_error`, `caf::error`, ...) as a
/// `value_error`.
template <class Callback>
value_error run_callback(Callback& cb) {
  return value_error{cb.fun()};
}

} // namespace meta

} // namespace manta::detail
