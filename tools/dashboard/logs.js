// The dashboard's logs view: the lines tasks and actor calls printed, per
// node, task or actor, filtered by a search text on the server
// (/api/log_lines?search=...), at most the newest 200 matches. On the head
// every member answers for itself: {"cluster":true,"answers":[...]}.
'use strict';

const logLimit = 200;

/// The query of the logs view's controls: node (empty: every node), task
/// or actor, the search text.
function logQuery(by, target, search, limit = logLimit) {
  const q = new URLSearchParams();
  q.set(by, target);
  if (search) q.set('search', search);
  q.set('tail', String(limit));
  q.set('limit', String(limit));
  return `/api/log_lines?${q}`;
}

/// The lines of one answer of /api/log_lines (a node's or the head's), each
/// with its node, oldest first.
function logRows(answer) {
  const answers = answer.cluster ? answer.answers : [answer];
  const rows = [];
  for (const a of answers) for (const l of a.lines) rows.push({ ...l, node: a.node });
  return rows;
}

/// Lines of `path`, or none where nothing matches (a 404: no such task or
/// actor on any node).
async function fetchLogRows(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (r.status === 404) return { rows: [], missing: (await r.json()).error };
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return { rows: logRows(await r.json()) };
}

// Answers can cross (the page's refresh and a search typed meanwhile):
// only the latest request's answer is drawn.
let logGeneration = 0;

async function refreshLogs() {
  const mine = ++logGeneration;
  const by = $('#log-by').value;
  const target = $('#log-target').value.trim();
  if (by !== 'node' && !target) {
    $('#log-status').textContent = `give the ${by}'s id${by === 'actor' ? ' or name' : ''}`;
    return;
  }
  const search = $('#log-search').value;
  const { rows, missing } = await fetchLogRows(logQuery(by, target, search));
  if (mine !== logGeneration) return; // a newer request is under way
  $('#log-status').textContent = missing
    ?? `${rows.length} line${rows.length === 1 ? '' : 's'}${rows.length >= logLimit ? ' (the newest)' : ''}`;
  fill('logs-table', rows, [
    (l) => [l.node], (l) => [l.task, '', `#/task/${l.task}`], (l) => [l.name],
    (l) => [l.line, 'line']]);
}

(() => {
  const again = () => refreshLogs().catch((e) => { $('#log-status').textContent = e.message; });
  $('#log-go').addEventListener('click', again);
  for (const id of ['#log-target', '#log-search'])
    $(id).addEventListener('keydown', (ev) => { if (ev.key === 'Enter') again(); });
  $('#log-by').addEventListener('change', again);
})();
