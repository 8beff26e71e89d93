// The Manta dashboard: polls the JSON state API once a second and renders
// it. Served by a node (its own state) or by the head (the whole cluster:
// every record names its node). Read-only; the graphs (graphs.js) use
// Chart.js, served by the dashboard itself; the timeline is timeline.js.
'use strict';

const $ = (sel) => document.querySelector(sel);

// The serving node's name (records of a node's own objects carry none).
let nodeName = '';

/// A table cell; with `href`, its text is a link (an id to its detail page).
function cell(text, cls, href) {
  const td = document.createElement('td');
  const shown = text === undefined || text === null ? '' : String(text);
  if (href && shown) {
    const a = document.createElement('a');
    a.href = href;
    a.textContent = shown;
    td.appendChild(a);
  } else {
    td.textContent = shown;
  }
  if (cls) td.className = cls;
  return td;
}

function fill(tableId, rows, columns) {
  const body = document.querySelector(`#${tableId} tbody`);
  const fresh = document.createElement('tbody');
  for (const row of rows) {
    const tr = document.createElement('tr');
    for (const col of columns) {
      const [text, cls, href] = col(row);
      tr.appendChild(cell(text, cls, href));
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
  const job = $('#task-job').value;
  // The newest 500 (per node on the head): bounded however many tasks
  // the history keeps.
  const tasks = await json('/api/tasks?newest=500' + (state ? `&state=${state}` : '')
    + (job ? `&job=${encodeURIComponent(job)}` : ''));
  tasks.reverse(); // newest first
  fill('tasks-table', tasks.slice(0, 500), [
    (t) => [t.id, '', `#/task/${t.id}`], (t) => [t.name], (t) => [t.kind], (t) => [t.state, t.state],
    (t) => [t.thread], (t) => [t.node], (t) => [t.job], (t) => [duration(t)],
    (t) => [t.error, 'err']]);
}

async function refreshActors() {
  const actors = await json('/api/actors');
  fill('actors-table', actors, [
    (a) => [a.class_name, '', `#/actor/${a.id}`], (a) => [a.name], (a) => [a.state, a.state],
    (a) => [a.restarts],
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

async function refresh() {
  // refreshGraphs: graphs.js; refreshTimeline: timeline.js; refreshLogs:
  // logs.js; refreshJobs: jobs.js; refreshPlacementGroups:
  // placement_groups.js; a detail page (#/task/ID, #/actor/ID) instead:
  // detail.js.
  const parts = detailShown() ? [refreshOverview, refreshDetail]
    : [refreshOverview, refreshGraphs, refreshTasks, refreshActors, refreshObjects,
      refreshJobs, refreshPlacementGroups, refreshTimeline, refreshLogs];
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
// Once every script of the page (graphs.js, timeline.js) has run.
window.addEventListener('DOMContentLoaded', loop);
