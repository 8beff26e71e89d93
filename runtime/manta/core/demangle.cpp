#include "manta/core/demangle.hpp"

#include <cstdlib>
#include <cxxabi.h>
#include <memory>

namespace manta::detail {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out{
    abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free};
  return status == 0 && out ? std::string{out.get()} : std::string{mangled};
}

} // namespace manta::detail
