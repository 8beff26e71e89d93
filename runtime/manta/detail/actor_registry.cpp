#include "manta/detail/actor_registry.hpp"

#include "manta/detail/task_error.hpp"
#include "manta/errors.hpp"

#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace manta::detail {

namespace {

struct registry {
  std::shared_mutex mtx;
  std::unordered_map<std::type_index, actor_class_info> classes;
};

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
  auto& info = r.classes[std::type_index{cls}];
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
  auto& info = r.classes[std::type_index{cls}];
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

const actor_class_info* find_actor_class(std::string_view name) {
  auto& r = the_registry();
  std::shared_lock<std::shared_mutex> guard{r.mtx};
  for (auto& [_, info] : r.classes)
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
    if (*m.type == type && m.bytes.size() == size
        && std::memcmp(m.bytes.data(), bytes, size) == 0)
      return m.name;
  throw unknown_function_error("a method of actor class " + cls.name + " (type "
                               + demangle(type.name())
                               + ") is not registered; list it in MANTA_ACTOR("
                               + cls.name + ", &" + cls.name + "::<method>, ...)");
}

} // namespace manta::detail
