// An actor's detail page's slice of the timeline: the runs of its calls,
// one row per node and executor thread that ran one, under a time axis
// from the first run's start to the last one's end. The runs are the
// records of the actor's calls (/api/tasks?kind=actor_call&actor=NAME&
// newest=N: the newest N of each node, the head asking every node), matched
// by the name the records carry (the class and the actor's name) and the
// actor's node, so two unnamed actors of one class on one node share their
// rows. Each bar links to its call's page.
'use strict';

/// How many of the actor's newest calls (per node) the slice draws.
const actorRunsNewest = 200;

/// The name actor calls' records give their actor ("keeper 'keeper'").
function actorDisplayName(a) {
  return `${a.class_name}${a.name ? ` '${a.name}'` : ''}`;
}

/// The runs of actor `a`'s calls: records that started on a thread of its node.
async function actorRuns(a) {
  const calls = await json(`/api/tasks?kind=actor_call&actor=${
    encodeURIComponent(actorDisplayName(a))}&newest=${actorRunsNewest}`);
  const nodeOf = (n) => (n || '').split(' ')[0]; // "node-1" of "node-1 (pid 42)"
  const now = Date.now() * 1000;
  return calls.filter((t) => t.started_us && t.thread && nodeOf(t.node) === nodeOf(a.node))
    .map((t) => ({ ...t, end: t.ended_us || now }))
    .sort((x, y) => x.started_us - y.started_us);
}

/// Draws `runs` into svg #detail-actor-timeline: rows by node and thread,
/// ticks as the timeline view's (offsets from the first start).
function drawActorRuns(runs) {
  const svg = $('#detail-actor-timeline');
  svg.replaceChildren();
  $('#detail-actor-runs').textContent = runs.length
    ? `${runs.length} run${runs.length > 1 ? 's' : ''} of its calls` : 'no call of it has run here';
  if (!runs.length) { svg.setAttribute('height', 0); return; }
  const rowOf = (t) => `${t.node} ${t.thread}`;
  const rows = [...new Set(runs.map(rowOf))].sort();
  const t0 = runs[0].started_us;
  const t1 = Math.max(t0 + 1, ...runs.map((t) => t.end));
  const labelW = 240, width = Math.max(400, svg.clientWidth || 1000);
  const plotW = width - labelW - 10;
  const x = (us) => labelW + ((us - t0) / (t1 - t0)) * plotW;
  svg.setAttribute('height', axisH + rows.length * rowH + 6);
  const step = niceStep(t1 - t0, Math.max(2, Math.floor(plotW / 110)));
  for (let t = t0; t <= t1 + 1e-6; t += step) {
    const tick = svgEl('g', { class: 'tick' });
    tick.appendChild(svgEl('line', { x1: x(t), x2: x(t), y1: axisH - 8,
      y2: axisH + rows.length * rowH, stroke: '#ddd' }));
    tick.appendChild(svgEl('text', { x: x(t), y: axisH - 11, 'text-anchor': 'middle',
      'font-size': 11 }, offsetLabel(t - t0, step)));
    svg.appendChild(tick);
  }
  rows.forEach((row, i) => svg.appendChild(svgEl('text', { class: 'row-label', x: 2,
    y: axisH + i * rowH + 15, 'font-size': 12 }, row)));
  for (const t of runs) {
    const link = svgEl('a', { href: `#/task/${t.id}` });
    const r = svgEl('rect', { class: `run ${t.state}`, 'data-id': t.id,
      x: x(t.started_us), y: axisH + rows.indexOf(rowOf(t)) * rowH + 3,
      width: Math.max(2, x(t.end) - x(t.started_us)), height: rowH - 6 });
    r.appendChild(svgEl('title', {}, `${t.name} ${t.id} ${t.state} ${ms(t.end - t.started_us)}`));
    link.appendChild(r);
    svg.appendChild(link);
  }
  $('#detail-actor-show-timeline').onclick = () => {
    const pad = Math.max(50, (t1 - t0) * 0.05);
    tlView = [t0 - pad, t1 + pad];
    location.hash = '#timeline';
  };
}
