#include "manta/cluster/code_loader.hpp"

#include "manta/actor/actor_registry.hpp"
#include "manta/cluster/build_fingerprint.hpp"
#include "manta/core/demangle.hpp"
#include "manta/cluster/elf_unique.hpp"
#include "manta/sched/function_registry.hpp"
#include "manta/errors.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <map>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

namespace manta::detail {

namespace {

namespace fs = std::filesystem;

/// Where a code search path comes from, for messages.
const char* const where_given = "--code-search-path, MANTA_CODE_SEARCH_PATH or "
                                "init_options::code_search_path";

std::vector<std::string>& declared() {
  static std::vector<std::string> paths;
  return paths;
}

std::string joined(const std::vector<std::string>& paths) {
  std::string out;
  for (auto& p : paths)
    out += (out.empty() ? "" : ":") + p;
  return out;
}

std::string octal(mode_t mode) {
  char out[8];
  std::snprintf(out, sizeof out, "%04o", static_cast<unsigned>(mode & 07777));
  return out;
}

/// Why a file or folder at `path` with `st` lets another user change what
/// this process would load, or "".
std::string writable_by_others(const std::string& what, const std::string& path,
                               const struct stat& st) {
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return "refusing to load the job library: its " + what + " " + path + " is owned by uid "
           + std::to_string(st.st_uid) + ", neither you (uid " + std::to_string(::geteuid())
           + ") nor root, so another user could change the code this process runs";
  bool sticky_folder = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) != 0;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && !sticky_folder)
    return "refusing to load the job library: its " + what + " " + path + " is writable by "
           + ((st.st_mode & S_IWOTH) != 0 ? std::string{"every user"} : std::string{"its group"})
           + " (mode " + octal(st.st_mode) + "), so another user could change the code this "
           + "process runs; `chmod go-w " + path + "`";
  return {};
}

/// A library loaded (or found linked into this program) once.
struct loaded_library {
  /// It was part of this program before (the driver links it): its
  /// functions and classes are this program's own.
  bool own = false;
};

struct loader {
  std::mutex mtx;
  /// By canonical path; a key's string is the library_scope of what the
  /// library registered, so it must not move (std::map nodes do not).
  std::map<std::string, loaded_library, std::less<>> libraries;
  /// The libraries each code search path (joined) named when first used:
  /// a folder is listed once, not at every task.
  std::map<std::string, std::vector<std::string>, std::less<>> resolved;
};

loader& the_loader() {
  static loader instance;
  return instance;
}

/// The libraries `entry` names: itself, or a folder's `*.so*` files in
/// name order; canonical paths. Sets `why` if it names none.
std::vector<std::string> libraries_in(const std::string& entry, std::string& why) {
  std::error_code ec;
  auto path = fs::canonical(entry, ec);
  if (ec) {
    why = "no file or folder " + entry + " (" + ec.message() + ")";
    return {};
  }
  if (!fs::is_directory(path, ec))
    return {path.string()};
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(path, ec))
    if (e.is_regular_file(ec) && e.path().filename().string().find(".so") != std::string::npos)
      out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  if (out.empty())
    why = "the folder " + path.string() + " holds no shared library (*.so)";
  return out;
}

/// Loads the library at `path` (canonical) unless it was; its entry, or
/// null with `why` set. The caller holds the loader's lock.
const std::pair<const std::string, loaded_library>* load(loader& l, const std::string& path,
                                                         std::string& why) {
  if (auto i = l.libraries.find(path); i != l.libraries.end())
    return &*i;
  if (why = check_library_file(path); !why.empty())
    return nullptr;
  if (auto unique = first_unique_symbol(path); !unique.empty()) {
    why = path + " was built with GCC's unique symbols (" + demangle(unique.c_str())
          + " and others): the dynamic loader keeps one of each per process, even for "
            "libraries loaded apart, so this job's registrations and layout checks could "
            "be another job's; rebuild it with -fno-gnu-unique";
    return nullptr;
  }
  // Linked into this program already (a driver's own library): dlopen
  // would hand back that copy without running its registrations again.
  if (void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD)) {
    ::dlclose(h);
    return &*l.libraries.emplace(path, loaded_library{true}).first;
  }
  auto& entry = *l.libraries.emplace(path, loaded_library{}).first;
  void* handle = nullptr;
  {
    library_scope scope{entry.first};
    handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  }
  if (handle == nullptr) { // kept loaded for good otherwise
    auto* err = ::dlerror();
    why = err != nullptr ? err : "dlopen failed";
    l.libraries.erase(path);
    return nullptr;
  }
  return &entry;
}

/// Finds `name` with `find(name, library)` in each library of `code`,
/// loading them first (no code: in this binary's own registry); `kind` ("function", "actor class")
/// and `fix` name it in messages.
template <class Info, class Find>
const Info* find_in_job(const std::vector<std::string>& code, const std::string& name,
                        const std::string& node, std::string& why, const char* kind,
                        const std::string& fix, Find find) {
  if (code.empty()) { // the binary's own registry
    if (auto* found = find(name, std::string{}))
      return found;
    why = "no " + std::string{kind} + " named '" + name + "' is registered on " + node
          + "; every node must run a binary that has " + fix
          + ", or the driver names the library that has it with " + where_given;
    return nullptr;
  }
  auto hint = "; check the job's code search path (" + std::string{where_given}
              + " of its driver): every node the job runs on must have these libraries "
                "at these paths, built against this Manta's libmanta.so";
  auto& l = the_loader();
  std::lock_guard<std::mutex> guard{l.mtx};
  auto key = joined(code);
  auto known = l.resolved.find(key);
  if (known == l.resolved.end()) {
    std::vector<std::string> libs;
    for (auto& entry : code) {
      std::string err;
      auto more = libraries_in(entry, err);
      if (!err.empty()) {
        why = "the job's code on " + node + ": " + err + hint;
        return nullptr;
      }
      libs.insert(libs.end(), more.begin(), more.end());
    }
    known = l.resolved.emplace(key, std::move(libs)).first;
  }
  const auto& all = known->second;
  for (auto& lib : all) {
    std::string err;
    auto* loaded = load(l, lib, err);
    if (loaded == nullptr) {
      why = "cannot load the job library " + lib + " on " + node + ": " + err + hint;
      return nullptr;
    }
    if (auto* found = find(name, loaded->second.own ? std::string{} : loaded->first))
      return found;
  }
  why = std::string{"no "} + kind + " named '" + name + "' in the job's code on " + node + " ("
        + joined(all) + ", from its code search path " + joined(code) + "); add " + fix
        + " to one of these libraries, or give the driver the library that has it";
  return nullptr;
}

} // namespace

std::vector<std::string> split_code_search_path(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto colon = text.find(':');
    if (auto part = text.substr(0, colon); !part.empty())
      out.emplace_back(part);
    text = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  }
  return out;
}

void declare_job_code(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (auto& p : paths) {
    std::error_code ec;
    auto path = fs::canonical(p, ec);
    if (ec)
      throw invalid_argument_error(
        "manta::init: the code search path names " + p + ", which does not exist (" + ec.message()
        + "); give the job's shared libraries (or folders of them) holding its "
          "MANTA_REMOTE functions and MANTA_ACTOR classes, separated by ':', with "
        + where_given);
    out.push_back(path.string());
  }
  declared() = std::move(out);
}

const std::vector<std::string>& job_code() {
  return declared();
}

std::vector<std::string> code_for(const std::string& library) {
  if (!library.empty())
    return {library};
  return declared();
}

std::string check_library_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return "cannot read " + path + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode))
    return path + " is not a regular file";
  if (auto why = writable_by_others("file", path, st); !why.empty())
    return why;
  auto folder = fs::path{path}.parent_path().string();
  if (::stat(folder.c_str(), &st) != 0)
    return "cannot read the folder " + folder + ": " + std::strerror(errno);
  return writable_by_others("folder", folder, st);
}

const function_info* job_function(const std::vector<std::string>& code, const std::string& name,
                                  const std::string& node, std::string& why) {
  // The usual case (no job code, a function the binary has), asked for
  // every task a node hosts: found before any message's text is built.
  if (code.empty())
    if (auto* found = find_function(name, std::string{}))
      return found;
  return find_in_job<function_info>(
    code, name, node, why, "function", "MANTA_REMOTE(" + name + ")",
    [](const std::string& n, const std::string& lib) { return find_function(n, lib); });
}

const actor_class_info* job_actor_class(const std::vector<std::string>& code,
                                        const std::string& name, const std::string& node,
                                        std::string& why) {
  return find_in_job<actor_class_info>(
    code, name, node, why, "actor class", "MANTA_ACTOR(" + name + ", ...)",
    [](const std::string& n, const std::string& lib) { return find_actor_class(n, lib); });
}

const wire::build_info& advertised_build() {
  static const wire::build_info none{fnv1a("job code"), {}};
  return declared().empty() ? this_build() : none;
}

} // namespace manta::detail
