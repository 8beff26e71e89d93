#pragma once

#include "manta/dashboard/dashboard_routes.hpp"

#include <map>
#include <string>

namespace manta::actors {

/// GET /api/log_lines: the lines this node kept (`manta logs`), as
/// `{"node":NAME,"capturing":BOOL,"last":SEQ,"lines":[{"seq","task","name",
/// "line"}...]}` (`capturing`: whether the node keeps lines, `log_prefix`).
/// One of `task=ID` (a task or actor call), `actor=ID_OR_NAME` (every call
/// of the actor) or `node=NAME` (all lines; the name may be left empty or
/// be only its "node-2" part) selects them; `after=SEQ` keeps those newer
/// than a previous answer's `last` (follow mode; `cursor=NAME:SEQ`, one per
/// node, is the same through the head, which asks every member: each takes
/// the SEQ of the cursor that names it, a member no cursor names answers
/// all its lines), `tail=N` the last N,
/// `search=TEXT` only lines that contain TEXT (or all lines of tasks whose
/// name does), `limit=N` at most N lines (never more than 10,000), so that
/// the dashboard's logs view searches a node's lines without pulling them.
/// An id or name this node does not know is a 404 that names it.
http_reply log_lines(const std::multimap<std::string, std::string>& query);

} // namespace manta::actors
