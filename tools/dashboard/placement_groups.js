// The dashboard's placement groups view (/api/placement_groups, what
// `manta list placement-groups` reads): each group's strategy and state,
// the tasks and actors scheduled into it, and each bundle with its
// resources and the node that holds it. Groups are kept by the driver that
// created them; the head lists every driver's. A refusal's reason shows as
// the view's note.
'use strict';

function bundleText(b) {
  const res = Object.entries(b.resources).map(([k, v]) => `${k} ${v}`).join(', ');
  return `#${b.index}: ${res}${b.node ? ` on ${b.node}` : ''}`;
}

async function refreshPlacementGroups() {
  const { ok, body } = await answerOf('/api/placement_groups');
  $('#groups-note').textContent = ok ? '' : body.error;
  fill('groups-table', ok ? body : [], [
    (g) => [g.id], (g) => [g.name], (g) => [g.strategy], (g) => [g.state, g.state],
    (g) => [g.bundles.map(bundleText).join('; ')], (g) => [g.tasks], (g) => [g.actors]]);
}
