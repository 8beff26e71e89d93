#pragma once

#include "manta/sched/callable_layout.hpp"
#include "manta/actor/remote_invoker.hpp"

#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace manta::detail {

/// What the runtime knows about a function marked with `MANTA_REMOTE`.
struct function_info {
  /// The name as written in the macro, used in errors, tools and (across
  /// nodes) to find the function in another binary.
  std::string name;
  /// The mangled signature, so that caller and callee can check they agree.
  std::string signature;
  /// The function itself, for `invoke`.
  const void* fn = nullptr;
  /// Runs the function from encoded arguments (tasks sent by other nodes);
  /// null if its parameter or result types cannot be serialized.
  invoke_fn invoke = nullptr;
  /// The layouts of its parameter and result types (for the build
  /// fingerprint and the check of each call another node sends).
  layout_fn layout = nullptr;
  /// The job library it came from (code_loader.hpp), "" for this program's
  /// own functions.
  std::string library;
};

/// While one lives on a thread, the registrations made on it (the static
/// initializers of a job's library being loaded: code_loader.cpp) are kept
/// apart under `library`, so that two jobs' functions or actor classes of
/// the same name never meet, and stay out of this program's own build
/// fingerprint.
class library_scope {
public:
  explicit library_scope(const std::string& library);
  ~library_scope();
  library_scope(const library_scope&) = delete;
  library_scope& operator=(const library_scope&) = delete;

private:
  const std::string* previous_;
};

/// The library whose registrations the calling thread makes now ("" for
/// this program's own).
const std::string& registering_library() noexcept;

/// Registers a function; called by `MANTA_REMOTE` during static
/// initialization. Registering the same function twice is harmless.
void register_function(const void* fn, std::string name, const std::type_info& signature,
                       invoke_fn invoke = nullptr, layout_fn layout = nullptr);

/// Every function of this program's own (a copy, for the build
/// fingerprint): not those of job libraries loaded since.
std::vector<function_info> all_functions();

/// Finds a registered function, or throws `unknown_function_error` that names
/// the fix (`MANTA_REMOTE`).
const function_info& lookup_function(const void* fn, const std::type_info& signature);

/// Finds a registered function by name; null if there is none. With a
/// `library`, among the functions that job library registered.
const function_info* find_function(std::string_view name, const std::string& library = {});

/// Takes the next name off a macro's stringified argument list
/// ("&a, ns::b"): the text up to the next comma, without spaces and '&';
/// `all` keeps the rest.
inline std::string_view next_listed_name(std::string_view& all) {
  auto comma = all.find(',');
  auto name = all.substr(0, comma);
  all = comma == std::string_view::npos ? std::string_view{} : all.substr(comma + 1);
  while (!name.empty() && (name.front() == ' ' || name.front() == '&'))
    name.remove_prefix(1);
  while (!name.empty() && name.back() == ' ')
    name.remove_suffix(1);
  return name;
}

/// Splits the stringified argument list of `MANTA_REMOTE(a, b, c)` and
/// registers each function under its own name.
/// Registers `fn` under the next name of `all` (`next_listed_name`): out of
/// line, so `MANTA_REMOTE` builds no strings in the user's file.
void register_listed_function(std::string_view& all, const void* fn,
                              const std::type_info& signature, invoke_fn invoke, layout_fn layout);

template <class... Fs>
bool register_functions(const char* names, Fs... fs) {
  std::string_view all{names};
  (register_listed_function(all, reinterpret_cast<const void*>(fs), typeid(*fs), invoker_for(fs),
                            layout_fn_for(fs)),
   ...);
  return true;
}

template <class... Fs>
constexpr bool check_functions_travel(Fs... fs) {
  return (check_travels(fs) && ...);
}

} // namespace manta::detail

#define MANTA_PP_CAT_IMPL(a, b) a##b
#define MANTA_PP_CAT(a, b) MANTA_PP_CAT_IMPL(a, b)

/// Marks functions as remote: `MANTA_REMOTE(add, mul);` at namespace scope
/// registers each under its name so it can run as a task on any node.
/// Every parameter and result type must be able to cross nodes: one that
/// cannot is a compile error naming it (remote_invoker.hpp, travel_check).
#define MANTA_REMOTE(...)                                                       \
  [[maybe_unused]] static const bool MANTA_PP_CAT(manta_remote_, __COUNTER__) = \
    ::manta::detail::check_functions_travel(__VA_ARGS__)                        \
    && ::manta::detail::register_functions(#__VA_ARGS__, __VA_ARGS__)

/// Marks functions as tasks that run only on the node that submits them:
/// for parameters that mean nothing elsewhere (pointers, handles to local
/// resources). In a cluster their tasks never leave the driver, and the
/// first one submitted there logs so once.
#define MANTA_LOCAL(...)                           \
  [[maybe_unused]] static const bool MANTA_PP_CAT( \
    manta_local_, __COUNTER__) = ::manta::detail::register_functions(#__VA_ARGS__, __VA_ARGS__)
