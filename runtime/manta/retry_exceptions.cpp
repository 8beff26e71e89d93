#include "manta/retry_exceptions.hpp"

#include "manta/sched/task_error.hpp"

#include <map>
#include <mutex>
#include <string_view>

namespace manta::detail {

namespace {

/// The exception types named in retry_exceptions<...>() anywhere in the
/// binary, by mangled name.
struct exception_registry {
  std::mutex mtx;
  std::map<std::string, exception_matcher, std::less<>> by_key;
};

exception_registry& registry() {
  static auto* r = new exception_registry; // never destroyed: used at exit too
  return *r;
}

} // namespace

const char* register_exception_type(const char* key, exception_matcher match) {
  auto& r = registry();
  std::lock_guard<std::mutex> guard{r.mtx};
  r.by_key.emplace(key, match);
  return key;
}

bool matches_exception_type(const std::vector<std::string>& keys, const std::exception_ptr& e) {
  if (!e || keys.empty())
    return false;
  std::vector<exception_matcher> matchers;
  {
    auto& r = registry();
    std::lock_guard<std::mutex> guard{r.mtx};
    for (auto& k : keys)
      if (auto i = r.by_key.find(k); i != r.by_key.end())
        matchers.push_back(i->second);
  }
  for (auto* m : matchers) // outside the lock: a matcher rethrows
    if (m(e))
      return true;
  return false;
}

bool retry_covers(bool all, const std::vector<std::string>& types, const std::exception_ptr& e) {
  if (!e || (!all && types.empty()) || is_runtime_error(e))
    return false;
  return all || matches_exception_type(types, e);
}

} // namespace manta::detail
