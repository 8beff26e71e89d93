#pragma once

#include "manta/state.hpp"

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace manta::actors {

/// What the dashboard answers to one GET.
struct http_reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  /// More headers ("Location", "Set-Cookie", "WWW-Authenticate").
  std::vector<std::pair<std::string, std::string>> headers = {};
};

/// Splits "a=1&b=x%20y" into decoded pairs (in dashboard_http.cpp, with the
/// rest of the request parsing).
std::multimap<std::string, std::string> parse_query(std::string_view query);

/// The dashboard's own file `path` ("/" is index.html) from `asset_dir`,
/// or from the copy compiled into the library when `asset_dir` is empty;
/// plain names only (404 for anything else).
http_reply asset(std::string_view path, const std::string& asset_dir);

/// A filter of the query parameters: every one but `limit` and `newest`
/// must equal the record's field of that name; throws on a bad limit.
list_filter filter_of(const std::multimap<std::string, std::string>& query);

/// The `newest=N` parameter (0 when absent): /api/tasks keeps the newest N
/// records, /api/timeline the N runs that started last, so that the page
/// asks for bounded answers however many tasks the history keeps. Throws
/// when it is not a count.
size_t newest_of(const std::multimap<std::string, std::string>& query);

/// The `since=T` parameter of /api/series (milliseconds since the Unix
/// epoch; 0 when absent): only the samples newer than T. Throws when it is
/// not a time.
int64_t since_of(const std::multimap<std::string, std::string>& query);

/// Answers a GET of `target` ("/api/tasks?state=RUNNING&limit=10"):
/// /api/nodes|tasks|actors|objects (JSON arrays; every query parameter but
/// `limit` and `newest` filters by field), /api/status, /api/memory, /api/timeline
/// (Chrome trace), /api/why?id=ID, /api/logs?id=ID (a task's lines),
/// /api/log_lines (dashboard_logs.hpp), /api/task?id=ID (a task's detail
/// page, dashboard_detail.hpp), /api/series[?since=T] (the graphs' samples),
/// /metrics (Prometheus text) and the
/// dashboard's own files from `asset_dir` ("/" is index.html). Read-only;
/// errors are replies (400/404/500), never exceptions.
http_reply route(std::string_view target, const std::string& asset_dir);

} // namespace manta::actors
