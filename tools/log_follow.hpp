#pragma once

#include "tools/state_client.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <string>

namespace manta::tools {

/// Prints one /api/log_lines answer's lines: a task's as they are, an
/// actor's or a node's after the name of the call that printed them
/// (`named`); with `as_json` one JSON object per line, carrying `node` when
/// it is given. Returns the answer's `last`.
uint64_t print_log_lines(const boost::json::object& answer, bool named, bool as_json,
                         const std::string& node = "");

/// `manta logs --follow` against one node's dashboard: asks for lines after
/// `last` every 250 ms until the node goes away (exit 1); each request
/// bounded by the HTTP client's timeout.
int follow_node(const state_options& o, const std::string& target, const std::string& node,
                uint64_t last, bool named);

/// `manta logs --follow` against the head: `first` is the head's answer
/// already printed (`{"answers":[...],"silent":[...]}`). Asks the head every
/// 250 ms for every member's lines after the last it printed of that member
/// (one `cursor=NODE:SEQ` each; the head asks all members within its 1.5 s
/// bound), prints them under a `== NODE ==` header whenever the node
/// changes, says on stderr when a member stops answering the head (and when
/// it answers again) and keeps following the others; exits 1 when the head
/// itself goes away.
int follow_cluster(const state_options& o, const std::string& target,
                   const boost::json::object& first, bool named);

} // namespace manta::tools
