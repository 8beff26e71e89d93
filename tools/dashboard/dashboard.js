// The Manta dashboard: polls the JSON state API once a second and renders
// it. Served by a node (its own state) or by the head (the whole cluster:
// every record names its node). Read-only; no dependencies.
'use strict';

const $ = (sel) => document.querySelector(sel);

// The serving node's name (records of a node's own objects carry none).
let nodeName = '';

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  if (cls) td.className = cls;
  return td;
}

function fill(tableId, rows, columns) {
  const body = document.querySelector(`#${tableId} tbody`);
  const fresh = document.createElement('tbody');
  for (const row of rows) {
    const tr = document.createElement('tr');
    for (const col of columns) {
      const [text, cls] = col(row);
      tr.appendChild(cell(text, cls));
    }
    fresh.appendChild(tr);
  }
  body.replaceWith(fresh);
}

function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function duration(t) {
  if (!t.started_us) return '';
  const end = t.ended_us || Date.now() * 1000;
  const ms = (end - t.started_us) / 1000;
  return ms < 1000 ? `${ms.toFixed(2)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function resources(avail, total) {
  return Object.keys(total).map((k) => `${k} ${avail[k] ?? '?'} / ${total[k]}`).join(', ');
}

async function json(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

async function refreshOverview() {
  const s = await json('/api/status');
  nodeName = s.node;
  $('#node').textContent = s.node;
  $('#metrics-link').hidden = Boolean(s.cluster); // metrics are per node
  const counts = $('#counts');
  counts.replaceChildren();
  const cards = Object.entries(s.tasks).concat([
    ['actors', s.actors], ['objects', s.objects],
    ['in memory', bytes(s.bytes_in_memory)], ['spilled', bytes(s.bytes_spilled)]]);
  for (const [k, v] of cards) {
    const d = document.createElement('div');
    d.className = 'card';
    d.innerHTML = '<b></b><span></span>';
    d.firstChild.textContent = v;
    d.lastChild.textContent = k;
    counts.appendChild(d);
  }
  fill('nodes-table', s.nodes, [
    (n) => [n.name], (n) => [n.role], (n) => [n.state, n.state],
    (n) => [resources(n.available, n.total)], (n) => [n.queued_tasks],
    (n) => [n.executor_threads]]);
}

async function refreshTasks() {
  const state = $('#task-state').value;
  const tasks = await json('/api/tasks' + (state ? `?state=${state}` : ''));
  tasks.reverse(); // newest first
  fill('tasks-table', tasks.slice(0, 500), [
    (t) => [t.id], (t) => [t.name], (t) => [t.kind], (t) => [t.state, t.state],
    (t) => [t.thread], (t) => [t.node], (t) => [t.job], (t) => [duration(t)],
    (t) => [t.error, 'err']]);
}

async function refreshActors() {
  const actors = await json('/api/actors');
  fill('actors-table', actors, [
    (a) => [a.class_name], (a) => [a.name], (a) => [a.state, a.state], (a) => [a.restarts],
    (a) => [a.queued_calls], (a) => [a.running_calls], (a) => [a.node], (a) => [a.job],
    (a) => [a.death_cause, 'err']]);
}

async function refreshObjects() {
  const m = await json('/api/memory');
  fill('objects-table', m.objects.slice(0, 500), [
    (o) => [o.id], (o) => [bytes(o.size_bytes)], (o) => [o.location],
    (o) => [o.node ?? nodeName], (o) => [o.type],
    (o) => [o.references], (o) => [o.created_by]]);
  $('#memory-text').textContent = m.text;
}

/// Draws the trace's complete slices, one row per thread.
async function refreshTimeline() {
  const trace = await json('/api/timeline');
  // A row per thread of each process (a cluster's trace has one process
  // per node); labels name the node when there are several.
  const processes = new Map();
  const names = new Map();
  const slices = [];
  const key = (e) => `${e.pid}:${e.tid}`;
  for (const e of trace.traceEvents) {
    if (e.ph === 'M' && e.name === 'process_name') processes.set(e.pid, e.args.name);
    if (e.ph === 'M' && e.name === 'thread_name') names.set(key(e), e);
    if (e.ph === 'X') slices.push(e);
  }
  const several = processes.size > 1;
  const label = (e) => (several ? `${processes.get(e.pid)} ` : '') + e.args.name;
  const svg = $('#timeline-svg');
  svg.replaceChildren();
  const rows = [...names.keys()].sort((a, b) => {
    const [x, y] = [names.get(a), names.get(b)];
    return x.pid !== y.pid ? x.pid - y.pid : x.tid - y.tid;
  });
  const rowH = 22, labelW = several ? 260 : 110, width = svg.clientWidth || 1000;
  svg.setAttribute('height', Math.max(40, rows.length * rowH + 10));
  if (!slices.length) return;
  const t0 = Math.min(...slices.map((s) => s.ts));
  const t1 = Math.max(...slices.map((s) => s.ts + s.dur));
  const scale = (width - labelW - 10) / Math.max(1, t1 - t0);
  const ns = 'http://www.w3.org/2000/svg';
  rows.forEach((row, i) => {
    const text = document.createElementNS(ns, 'text');
    text.setAttribute('x', 2);
    text.setAttribute('y', i * rowH + 15);
    text.textContent = label(names.get(row));
    svg.appendChild(text);
  });
  for (const s of slices.slice(-2000)) {
    const r = document.createElementNS(ns, 'rect');
    r.setAttribute('x', labelW + (s.ts - t0) * scale);
    r.setAttribute('y', rows.indexOf(key(s)) * rowH + 3);
    r.setAttribute('width', Math.max(1, s.dur * scale));
    r.setAttribute('height', rowH - 6);
    r.setAttribute('fill', s.cat === 'actor_call' ? '#e76f51' : '#457b9d');
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${s.name} ${s.args.id} ${s.args.state} ${(s.dur / 1000).toFixed(2)} ms`;
    r.appendChild(title);
    svg.appendChild(r);
  }
}

async function refresh() {
  const parts = [refreshOverview, refreshTasks, refreshActors, refreshObjects, refreshTimeline];
  for (const part of parts) {
    try {
      await part();
    } catch (e) {
      $('#node').textContent = `error: ${e.message}`;
    }
  }
  document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
}

async function loop() {
  if ($('#live').checked) await refresh();
  setTimeout(loop, 1000);
}

$('#task-state').addEventListener('change', refresh);
loop();
