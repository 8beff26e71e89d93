// The dashboard's detail pages, reached by clicking an id: #/task/ID (a
// task or actor call: /api/task) and #/actor/ID (/api/actors?id=ID). A
// task's page shows its node, state history with times, object arguments
// and their sizes, error with the chain of tasks it failed through, `why`
// while it waits, its log lines and its slice of the timeline; an actor's
// its state, node, restarts, death cause, state history (each state with
// when it entered it and why), the runs of its calls on a time axis
// (actor_runs.js) and log lines.
'use strict';

/// ["task", ID] or ["actor", ID] from the address, or null.
function detailTarget() {
  const m = /^#\/(task|actor)\/([^/]+)$/.exec(location.hash);
  return m ? [m[1], decodeURIComponent(m[2])] : null;
}

function detailShown() {
  return detailTarget() !== null;
}

function when(us) {
  return us ? new Date(us / 1000).toISOString().replace('T', ' ').replace('Z', ' UTC') : '';
}

function ms(us) {
  return us < 1e6 ? `${(us / 1000).toFixed(2)} ms` : `${(us / 1e6).toFixed(2)} s`;
}

/// Rows of a two-column table of `pairs` ([label, value, cls?, href?]).
function fields(id, pairs) {
  fill(id, pairs.filter((p) => p[1] !== undefined && p[1] !== ''), [
    (p) => [p[0]], (p) => [p[1], p[2], p[3]]]);
}

/// The task's states with the times it entered them, from its record.
function stateHistory(t) {
  const h = [['SUBMITTED', t.submitted_us]];
  if (t.started_us) h.push(['RUNNING', t.started_us]);
  if (t.ended_us) h.push([t.state, t.ended_us]);
  else if (t.state !== 'RUNNING') h.push([`${t.state} (now)`, 0]);
  return h.map(([state, us], i) => ({
    state, at: when(us), after: i && us && h[0][1] ? `+${ms(us - h[0][1])}` : '' }));
}

/// The task's phases as bars: waiting (submitted to started) and running.
function drawSlice(t) {
  const svg = $('#detail-timeline');
  svg.replaceChildren();
  const end = t.ended_us || Date.now() * 1000;
  const t0 = t.submitted_us || t.started_us || end;
  const span = Math.max(1, end - t0);
  const w = Math.max(300, svg.clientWidth || 800) - 20;
  const x = (us) => 10 + ((us - t0) / span) * w;
  const bar = (from, to, cls, label) => {
    svg.appendChild(svgEl('rect', { x: x(from), y: 8, width: Math.max(2, x(to) - x(from)), height: 18,
      class: cls, 'data-phase': cls }));
    svg.appendChild(svgEl('text', { x: x(from) + 2, y: 40, 'font-size': 11 }, label));
  };
  if (t.started_us) {
    if (t.started_us > t0) bar(t0, t.started_us, 'waiting', `waiting ${ms(t.started_us - t0)}`);
    bar(t.started_us, end, `running ${t.state}`, `${t.thread || 'running'} ${ms(end - t.started_us)}`);
  } else {
    bar(t0, end, 'waiting', `never ran: ${ms(end - t0)} ${t.state}`);
  }
}

async function refreshTaskDetail(id) {
  const r = await fetch(`/api/task?id=${encodeURIComponent(id)}`, { cache: 'no-store' });
  const d = await r.json();
  if (!r.ok) {
    $('#detail-title').textContent = `task ${id}: ${d.error}`;
    return;
  }
  const t = d.task;
  $('#detail-title').textContent = `Task ${t.name} (${t.id})`;
  fields('detail-fields', [
    ['state', t.state, t.state], ['kind', t.kind], ['node', t.node], ['thread', t.thread],
    ['actor', t.actor], ['job', t.job], ['attempts', t.attempts],
    ['submitted by', t.parent ?? '', '', t.parent ? `#/task/${t.parent}` : ''],
    ['reported by', d.node]]);
  fill('detail-history', stateHistory(t), [(h) => [h.state, h.state], (h) => [h.at], (h) => [h.after],
    () => ['']]);
  fill('detail-args', t.args, [(a) => [a.id, '', `#/task/${a.id}`], (a) => [bytes(a.size_bytes)]]);
  // The error, then each task it failed through, the first failure last.
  const chain = [{ ...t, via: 'this task' }].concat(d.chain.map((c) => ({ ...c, via: 'its argument' })));
  fill('detail-chain', t.error ? chain : [], [
    (c) => [c.via], (c) => [c.unknown ? c.id : `${c.name} (${c.id})`, '', `#/task/${c.id}`],
    (c) => [c.state ?? 'unknown here', c.state], (c) => [c.node], (c) => [c.error, 'err']]);
  $('#detail-why').textContent = d.why;
  const { rows } = await fetchLogRows(logQuery('task', t.id, '', 500));
  $('#detail-logs').textContent = rows.map((l) => l.line).join('\n') || '(no lines)';
  drawSlice(t);
  $('#detail-show-timeline').onclick = () => {
    const end = t.ended_us || Date.now() * 1000;
    const pad = Math.max(50, (end - (t.started_us || t.submitted_us)) * 0.2);
    tlView = [(t.started_us || t.submitted_us) - pad, end + pad];
    location.hash = '#timeline';
  };
}

async function refreshActorDetail(id) {
  const actors = await json(`/api/actors?id=${encodeURIComponent(id)}`);
  if (!actors.length) {
    $('#detail-title').textContent = `actor ${id}: no such actor on any node`;
    return;
  }
  const a = actors[0];
  $('#detail-title').textContent = `Actor ${a.class_name}${a.name ? ` '${a.name}'` : ''} (${a.id})`;
  fields('detail-fields', [
    ['state', a.state, a.state], ['node', a.node], ['namespace', a.namespace],
    ['restarts', a.restarts], ['queued calls', a.queued_calls], ['running calls', a.running_calls],
    ['resources', Object.entries(a.resources).map(([k, v]) => `${k} ${v}`).join(', ')],
    ['job', a.job], ['death cause', a.death_cause, 'err']]);
  // Each state it entered (the actor core's record), with a death's cause.
  const first = a.history.length ? a.history[0].at_us : 0;
  fill('detail-history', a.history, [(h) => [h.state, h.state], (h) => [when(h.at_us)],
    (h) => [h.at_us > first ? `+${ms(h.at_us - first)}` : ''], (h) => [h.detail, 'err']]);
  const { rows } = await fetchLogRows(logQuery('actor', a.id, '', 500));
  $('#detail-logs').textContent = rows.map((l) => `[${l.name}] ${l.line}`).join('\n') || '(no lines)';
  drawActorRuns(await actorRuns(a));
}

async function refreshDetail() {
  const target = detailTarget();
  if (!target) return;
  const [kind, id] = target;
  document.body.dataset.detail = kind;
  if (kind === 'task') await refreshTaskDetail(id);
  else await refreshActorDetail(id);
}

function showDetail() {
  const target = detailTarget();
  document.body.classList.toggle('detail-mode', target !== null);
  if (!target) return;
  document.body.dataset.detail = target[0];
  for (const id of ['#detail-fields', '#detail-history', '#detail-args', '#detail-chain'])
    $(`${id} tbody`).replaceChildren();
  for (const id of ['#detail-why', '#detail-logs', '#detail-title']) $(id).textContent = '';
  $('#detail-timeline').replaceChildren();
  $('#detail-actor-timeline').replaceChildren();
  refreshDetail().catch((e) => { $('#detail-title').textContent = `error: ${e.message}`; });
}

window.addEventListener('hashchange', showDetail);
window.addEventListener('DOMContentLoaded', showDetail);
