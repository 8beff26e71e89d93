#pragma once

#include <manta/core/aggregate_inspect.hpp>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deserializer.hpp>
#include <caf/serializer.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

/// The codec's serializer before the public headers stopped including CAF
/// (runtime/manta/core/value_inspector.hpp writes the same bytes without
/// it): kept as the reference tests/codec_compat_test.cpp compares the
/// codec against, byte for byte.
namespace manta::test {

/// CAF 0.17's binary serializer with floating-point numbers written as their
/// IEEE 754 bits. CAF packs them with its own `pack754`, which never returns
/// for an infinity (it halves the value until it is below 2) and flushes
/// denormals: a value holding `HUGE_VAL` hung the thread encoding it (found
/// by tests/fuzz/codec_fuzz). `Base` is caf::serializer or
/// caf::deserializer, `Inner` the binary one doing the rest.
template <class Base, class Inner>
class exact_floats final : public Base {
public:
  template <class... Ts>
  explicit exact_floats(Ts&&... xs) : inner_(nullptr, std::forward<Ts>(xs)...) {}

  Inner& inner() noexcept { return inner_; }

  caf::error begin_object(uint16_t& nr, std::string& name) override {
    return inner_.begin_object(nr, name);
  }
  caf::error end_object() override { return inner_.end_object(); }
  caf::error begin_sequence(size_t& n) override { return inner_.begin_sequence(n); }
  caf::error end_sequence() override { return inner_.end_sequence(); }
  caf::error apply_raw(size_t n, void* data) override { return inner_.apply_raw(n, data); }

protected:
  caf::error apply_impl(int8_t& x) override { return inner_.apply(x); }
  caf::error apply_impl(uint8_t& x) override { return inner_.apply(x); }
  caf::error apply_impl(int16_t& x) override { return inner_.apply(x); }
  caf::error apply_impl(uint16_t& x) override { return inner_.apply(x); }
  caf::error apply_impl(int32_t& x) override { return inner_.apply(x); }
  caf::error apply_impl(uint32_t& x) override { return inner_.apply(x); }
  caf::error apply_impl(int64_t& x) override { return inner_.apply(x); }
  caf::error apply_impl(uint64_t& x) override { return inner_.apply(x); }
  caf::error apply_impl(float& x) override { return bits<uint32_t>(x); }
  caf::error apply_impl(double& x) override { return bits<uint64_t>(x); }
  caf::error apply_impl(long double& x) override { return inner_.apply(x); }
  caf::error apply_impl(std::string& x) override { return inner_.apply(x); }
  caf::error apply_impl(std::u16string& x) override { return inner_.apply(x); }
  caf::error apply_impl(std::u32string& x) override { return inner_.apply(x); }

private:
  /// Writes (or reads) `x` as an unsigned integer of the same bits.
  template <class U, class F>
  caf::error bits(F& x) {
    static_assert(sizeof(U) == sizeof(F));
    U u;
    std::memcpy(&u, &x, sizeof(U));
    auto err = inner_.apply(u);
    if (!err)
      std::memcpy(&x, &u, sizeof(U));
    return err;
  }

  Inner inner_;
};

using value_serializer = exact_floats<caf::serializer, caf::binary_serializer>;
using value_deserializer = exact_floats<caf::deserializer, caf::binary_deserializer>;

} // namespace manta::test

namespace caf {

/// Plain aggregates field by field for CAF's serializers, as the codec
/// wrote them through CAF (found through CAF's inspectors' namespace).
template <class Inspector, manta::detail::plain_aggregate T>
typename Inspector::result_type inspect(Inspector& f, T& x) {
  return manta::detail::inspect_fields(f, x);
}

} // namespace caf
