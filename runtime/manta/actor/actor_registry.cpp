#include "manta/actor/actor_registry.hpp"

#include "manta/sched/task_error.hpp"
#include "manta/errors.hpp"

#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace manta::detail {

namespace {

struct registry {
  std::shared_mutex mtx;
  std::unordered_map<std::type_index, actor_class_info> classes;
  /// Those of each job library loaded (function_registry.hpp,
  /// library_scope): apart, since two libraries may each have a class of
  /// the same name, whose std::type_index compare equal (by name).
  std::map<std::string, std::unordered_map<std::type_index, actor_class_info>, std::less<>>
    by_library;
};

/// Where a registration made now goes.
actor_class_info& entry_for(registry& r, const std::type_info& cls) {
  const auto& library = registering_library();
  if (library.empty())
    return r.classes[std::type_index{cls}];
  auto& out = r.by_library[library][std::type_index{cls}];
  out.library = library;
  return out;
}

registry& the_registry() {
  // Function-local static: MANTA_ACTOR runs during static initialization.
  static registry instance;
  return instance;
}

} // namespace

void register_actor_class(const std::type_info& cls, std::string name, bool is_async,
                          std::vector<method_info> methods) {
  auto& r = the_registry();
  std::unique_lock<std::shared_mutex> guard{r.mtx};
  auto& info = entry_for(r, cls);
  info.name = std::move(name);
  info.type = &cls;
  info.is_async = info.is_async || is_async;
  for (auto& m : methods)
    info.methods.push_back(std::move(m));
}

bool register_actor_ctor(const std::type_info& cls, const char* key, ctor_factory f,
                         layout_fn layout, std::string arg_names) {
  auto& r = the_registry();
  std::unique_lock<std::shared_mutex> guard{r.mtx};
  auto& info = entry_for(r, cls);
  info.ctors.emplace(key, f);
  info.ctor_layouts.emplace(key, std::make_pair(layout, std::move(arg_names)));
  return true;
}

std::vector<actor_class_info> all_actor_classes() {
  auto& r = the_registry();
  std::shared_lock<std::shared_mutex> guard{r.mtx};
  std::vector<actor_class_info> out;
  for (auto& [_, info] : r.classes)
    if (info.type != nullptr) // not just a constructor
      out.push_back(info);
  return out;
}

const actor_class_info* find_actor_class(std::string_view name, const std::string& library) {
  auto& r = the_registry();
  std::shared_lock<std::shared_mutex> guard{r.mtx};
  auto* classes = &r.classes;
  if (!library.empty()) {
    auto l = r.by_library.find(library);
    if (l == r.by_library.end())
      return nullptr;
    classes = &l->second;
  }
  for (auto& [_, info] : *classes)
    if (info.name == name && info.type != nullptr)
      return &info;
  return nullptr;
}

const method_info* find_method(const actor_class_info& cls, std::string_view name) {
  for (auto& m : cls.methods)
    if (m.name == name)
      return &m;
  return nullptr;
}

ctor_factory find_actor_ctor(const actor_class_info& cls, std::string_view key) {
  std::shared_lock<std::shared_mutex> guard{the_registry().mtx};
  auto i = cls.ctors.find(key);
  return i == cls.ctors.end() ? nullptr : i->second;
}

const actor_class_info& lookup_actor_class(const std::type_info& cls) {
  auto& r = the_registry();
  std::shared_lock<std::shared_mutex> guard{r.mtx};
  // A job library's class first, by the identity of its type_info (each
  // library loaded with RTLD_LOCAL has its own), not its name.
  for (auto& library : r.by_library)
    for (auto& [_, info] : library.second)
      if (info.type == &cls)
        return info;
  auto i = r.classes.find(std::type_index{cls});
  if (i != r.classes.end() && i->second.type != nullptr) // not just a constructor
    return i->second; // entries never move: unordered_map nodes are stable
  auto name = demangle(cls.name());
  throw unknown_function_error("class " + name
                               + " is not registered as an actor class; add "
                                 "MANTA_ACTOR("
                               + name + ", &" + name
                               + "::method, ...) at namespace scope next to its "
                                 "definition");
}

const std::string& lookup_method(const actor_class_info& cls, const std::type_info& type,
                                 const void* bytes, size_t size) {
  for (auto& m : cls.methods)
    if (*m.type == type && m.bytes.size() == size && std::memcmp(m.bytes.data(), bytes, size) == 0)
      return m.name;
  throw unknown_function_error("a method of actor class " + cls.name + " (type "
                               + demangle(type.name())
                               + ") is not registered; list it in MANTA_ACTOR(" + cls.name + ", &"
                               + cls.name + "::<method>, ...)");
}

} // namespace manta::detail
