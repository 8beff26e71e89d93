#include "manta/sched/callable_layout.hpp"

namespace manta::detail {

uint64_t fnv1a(std::string_view bytes, uint64_t h) noexcept {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

callable_layout make_callable_layout(std::initializer_list<std::string> params,
                                     std::string result) {
  callable_layout out{params, std::move(result), 0};
  uint64_t h = fnv1a("params");
  for (auto& p : out.params)
    h = fnv1a(std::string_view{p.c_str(), p.size() + 1}, h); // with the '\0': no run-ins
  h = fnv1a(out.result, fnv1a("result", h));
  out.hash = h == 0 ? 1 : h;
  return out;
}

std::string callable_layout::to_string() const {
  std::string out{"("};
  out += layout_detail::join(params);
  out += ") -> ";
  out += result;
  return out;
}

} // namespace manta::detail
