#pragma once

#include "manta/dashboard/dashboard_routes.hpp"
#include "manta/cluster/node_state.hpp"

#include <map>
#include <string>

namespace manta::actors {

/// GET /api/task?id=ID: what the dashboard's detail page of a task or actor
/// call shows, as `{"node":NAME,"task":RECORD,"chain":[RECORD...],"why":TEXT}`.
/// RECORD is the state API's task record (with its object arguments and
/// their sizes, and `caused_by`); `chain` follows `caused_by` from the task
/// to the task that failed first (a task that failed because an argument's
/// task had failed, and so on; at most 16 links, each a record this node
/// still keeps); `why` is `manta why`'s text. A record of the task as it
/// ran here is preferred to the owner's record of a task it placed on
/// another node. An id this node does not know is a 404 that names it.
http_reply task_detail(const std::multimap<std::string, std::string>& query);

/// Answers a request the head forwarded with its state query
/// (`state_query::forward`) into `s.forwarded`: /api/log_lines and
/// /api/task only (the head's logs view and detail page); anything else is
/// a 404. The head merges the members' answers (head_dashboard.hpp).
void forward_state_request(const std::string& target, detail::node_state& s);

} // namespace manta::actors
