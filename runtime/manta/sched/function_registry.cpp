#include "manta/sched/function_registry.hpp"

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
  /// By name_key: a job library's names apart from the program's.
  std::unordered_map<std::string, const void*> by_name;
};

std::string name_key(std::string_view name, const std::string& library) {
  if (library.empty())
    return std::string{name};
  return library + '\0' + std::string{name};
}

thread_local const std::string* t_library = nullptr;

registry& the_registry() {
  // Function-local static: MANTA_REMOTE runs during static initialization,
  // possibly before any other static of this file exists.
  static registry instance;
  return instance;
}

} // namespace

library_scope::library_scope(const std::string& library) : previous_(t_library) {
  t_library = &library;
}

library_scope::~library_scope() {
  t_library = previous_;
}

const std::string& registering_library() noexcept {
  static const std::string none;
  return t_library != nullptr ? *t_library : none;
}

void register_function(const void* fn, std::string name, const std::type_info& signature,
                       invoke_fn invoke, layout_fn layout) {
  auto& r = the_registry();
  const auto& library = registering_library();
  std::unique_lock<std::shared_mutex> guard{r.mtx};
  r.by_name.emplace(name_key(name, library), fn);
  r.by_address.emplace(
    fn, function_info{std::move(name), signature.name(), fn, invoke, layout, library});
}

void register_listed_function(std::string_view& all, const void* fn,
                              const std::type_info& signature, invoke_fn invoke, layout_fn layout) {
  register_function(fn, std::string{next_listed_name(all)}, signature, invoke, layout);
}

std::vector<function_info> all_functions() {
  auto& r = the_registry();
  std::shared_lock<std::shared_mutex> guard{r.mtx};
  std::vector<function_info> out;
  out.reserve(r.by_name.size());
  for (auto& [name, fn] : r.by_name)
    if (auto& info = r.by_address.at(fn); info.library.empty())
      out.push_back(info);
  return out;
}

const function_info& lookup_function(const void* fn, const std::type_info& signature) {
  // Every `task(f).remote()` looks its function up. The thread's last hit
  // skips the shared lock (two atomic writes to a line all submitting
  // threads share) and the hash: entries are never erased nor replaced
  // (`emplace` keeps the first) and a node map never moves them, so a
  // reference once found stays the answer for that address.
  thread_local std::pair<const void*, const function_info*> last{nullptr, nullptr};
  if (last.first == fn && fn != nullptr)
    return *last.second;
  auto& r = the_registry();
  std::shared_lock<std::shared_mutex> guard{r.mtx};
  auto i = r.by_address.find(fn);
  if (i != r.by_address.end()) {
    last = {fn, &i->second};
    return i->second;
  }
  char addr[32];
  std::snprintf(addr, sizeof(addr), "%p", fn);
  throw unknown_function_error(
    std::string{"the function at "} + addr + " (signature " + signature.name()
    + ") is not registered as a remote function; add MANTA_REMOTE(<name>) at "
      "namespace scope next to its definition");
}

const function_info* find_function(std::string_view name, const std::string& library) {
  auto& r = the_registry();
  std::shared_lock<std::shared_mutex> guard{r.mtx};
  auto i = r.by_name.find(name_key(name, library));
  if (i == r.by_name.end())
    return nullptr;
  return &r.by_address.at(i->second);
}

} // namespace manta::detail
