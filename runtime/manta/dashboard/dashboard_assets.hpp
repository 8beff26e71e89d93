#pragma once

#include <span>
#include <string_view>

namespace manta::actors {

/// One file of the dashboard's page, compiled into the library.
struct embedded_file {
  std::string_view name;  ///< base name: "index.html"
  std::string_view bytes; ///< the file's contents
};

/// The page's files (tools/dashboard/), embedded at build time by
/// tools/embed_files.py so that a program moved away from the source tree,
/// or installed, still serves its dashboard.
std::span<const embedded_file> dashboard_files();

} // namespace manta::actors
