#pragma once

#include "manta/observe/series.hpp"
#include "manta/net/wire_fields.hpp"

namespace manta::detail {

/// A sample's fields, listed once: schema::SeriesSample's (node_state.cpp
/// writes and reads them with wire_fields.hpp) and, in snake_case, the
/// keys of /api/series (series.cpp's `to_json`).
template <class F>
void fields(F&& f, series_sample& x) {
  f(x.time_ms, MANTA_WIRE_FIELD(TimeMs));
  f(x.cpu_percent, MANTA_WIRE_FIELD(CpuPercent));
  f(x.machine_cpu_percent, MANTA_WIRE_FIELD(MachineCpuPercent));
  f(x.rss_bytes, MANTA_WIRE_FIELD(RssBytes));
  f(x.machine_used_bytes, MANTA_WIRE_FIELD(MachineUsedBytes));
  f(x.machine_total_bytes, MANTA_WIRE_FIELD(MachineTotalBytes));
  f(x.store_bytes, MANTA_WIRE_FIELD(StoreBytes));
  f(x.spilled_bytes, MANTA_WIRE_FIELD(SpilledBytes));
  f(x.budget_bytes, MANTA_WIRE_FIELD(BudgetBytes));
  f(x.finished, MANTA_WIRE_FIELD(Finished));
  f(x.failed, MANTA_WIRE_FIELD(Failed));
  f(x.actor_calls, MANTA_WIRE_FIELD(ActorCalls));
  f(x.running, MANTA_WIRE_FIELD(Running));
  f(x.queued, MANTA_WIRE_FIELD(Queued));
}

} // namespace manta::detail
