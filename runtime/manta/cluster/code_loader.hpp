#pragma once

#include "manta/net/wire.hpp"

#include <string>
#include <string_view>
#include <vector>

/// A job's code (Ray's code search path for C++ workers): a driver names the
/// shared libraries (or folders of them) holding its `MANTA_REMOTE`
/// functions and `MANTA_ACTOR` classes, and every task or actor spec it
/// sends carries that list. A node that receives one loads the libraries
/// once (dlopen, RTLD_NOW | RTLD_LOCAL) and looks the function or class up
/// among what each library registered while it loaded (library_scope in
/// function_registry.hpp), apart from its own binary's and other jobs'.
/// So one generic worker (`manta start` without a program) serves several
/// jobs built from different code, and two jobs may each have a function of
/// the same name with another body or type. See docs/cluster.md, "Jobs".
namespace manta::detail {

struct function_info;
struct actor_class_info;

/// "A:B" as a list (empty entries dropped).
std::vector<std::string> split_code_search_path(std::string_view text);

/// Records this process's code search path (a driver's
/// `init_options::code_search_path`), each entry made absolute: the nodes
/// it sends work to read the same paths. Throws `invalid_argument_error`
/// naming the path and the ways to give it if one does not exist.
void declare_job_code(const std::vector<std::string>& paths);

/// The code search path this process declared (empty: none).
const std::vector<std::string>& job_code();

/// The code a task or actor spec names: `{library}` for a function or class
/// that came from a job library (a nested task of a job), else this
/// process's declared code search path.
std::vector<std::string> code_for(const std::string& library);

/// Why this process must not load the library at `path`, or "" if it may:
/// it must be a regular file owned by this user or root and writable by no
/// one else, in a folder that only they can write (or a sticky one), so
/// that no other local user can put code into this process.
std::string check_library_file(const std::string& path);

/// The function `name` a task whose owner sent `code` calls (empty: this
/// binary's own), loading the libraries first (once per process); null,
/// with `why` saying which library failed or that none has it and what to
/// do, if there is none. `node` names this node in messages.
const function_info* job_function(const std::vector<std::string>& code, const std::string& name,
                                  const std::string& node, std::string& why);

/// The actor class `name` of a job whose code is `code`, as `job_function`.
const actor_class_info* job_actor_class(const std::vector<std::string>& code,
                                        const std::string& name, const std::string& node,
                                        std::string& why);

/// The build fingerprint this process gives the head when it joins: its
/// own, or, with a code search path declared, one listing nothing, since
/// its functions travel as libraries that every node loads apart (a job
/// from other code is not refused for it); each call is still checked
/// against the layouts its library has where it runs.
const wire::build_info& advertised_build();

} // namespace manta::detail
