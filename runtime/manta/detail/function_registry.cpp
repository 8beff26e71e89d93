#include "manta/detail/function_registry.hpp"

#include "manta/errors.hpp"

#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace manta::detail {

namespace {

struct registry {
  std::shared_mutex mtx;
  std::unordered_map<const void*, function_info> by_address;
  std::unordered_map<std::string, const void*> by_name;
};

registry& the_registry() {
  // Function-local static: MANTA_REMOTE runs during static initialization,
  // possibly before any other static of this file exists.
  static registry instance;
  return instance;
}

} // namespace

void register_function(const void* fn, std::string name,
                       const std::type_info& signature, invoke_fn invoke, layout_fn layout) {
  auto& r = the_registry();
  std::unique_lock<std::shared_mutex> guard{r.mtx};
  r.by_name.emplace(name, fn);
  r.by_address.emplace(fn,
                       function_info{std::move(name), signature.name(), fn, invoke, layout});
}

std::vector<function_info> all_functions() {
  auto& r = the_registry();
  std::shared_lock<std::shared_mutex> guard{r.mtx};
  std::vector<function_info> out;
  out.reserve(r.by_name.size());
  for (auto& [name, fn] : r.by_name)
    out.push_back(r.by_address.at(fn));
  return out;
}

const function_info& lookup_function(const void* fn,
                                     const std::type_info& signature) {
  auto& r = the_registry();
  std::shared_lock<std::shared_mutex> guard{r.mtx};
  auto i = r.by_address.find(fn);
  if (i != r.by_address.end())
    return i->second;
  char addr[32];
  std::snprintf(addr, sizeof(addr), "%p", fn);
  throw unknown_function_error(
    std::string{"the function at "} + addr + " (signature " + signature.name()
    + ") is not registered as a remote function; add MANTA_REMOTE(<name>) at "
      "namespace scope next to its definition");
}

const function_info* find_function(std::string_view name) {
  auto& r = the_registry();
  std::shared_lock<std::shared_mutex> guard{r.mtx};
  auto i = r.by_name.find(std::string{name});
  if (i == r.by_name.end())
    return nullptr;
  return &r.by_address.at(i->second);
}

} // namespace manta::detail
