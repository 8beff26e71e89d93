// The dashboard's jobs view: the head's job table (/api/jobs, what
// `manta job list` reads): every driver that joined and every job
// `manta job submit` started, with its state, where its driver runs and how
// it ended. A node keeps no job table: there the view says to open the
// head's dashboard. A job's id links to the tasks view filtered by it.
'use strict';

/// The body of `path` parsed, and whether the server answered 200: views
/// that a node or the head may refuse show the refusal's reason.
async function answerOf(path) {
  const r = await fetch(path, { cache: 'no-store' });
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    body = { error: `${path}: ${r.status}` };
  }
  return { ok: r.ok, body };
}

function whenMs(ms) {
  return ms ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '';
}

function jobDuration(j) {
  if (!j.start_ms) return '';
  const s = ((j.end_ms || Date.now()) - j.start_ms) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}

async function refreshJobs() {
  const { ok, body } = await answerOf('/api/jobs');
  $('#jobs-note').textContent = ok ? '' : body.error;
  const jobs = ok ? body.slice().reverse() : []; // newest first
  fill('jobs-table', jobs, [
    (j) => [j.job_id, '', `#tasks?job=${encodeURIComponent(j.job_id)}`], (j) => [j.state, j.state],
    (j) => [j.entrypoint || '(started by hand)'], (j) => [j.node],
    (j) => [j.pid ? `${j.host} pid ${j.pid}` : j.host], (j) => [whenMs(j.start_ms)],
    (j) => [jobDuration(j)], (j) => [j.detail, 'err']]);
  // The tasks view's job filter lists the jobs the table knows.
  const select = $('#task-job');
  const known = new Set([...select.options].map((o) => o.value));
  for (const j of jobs)
    if (!known.has(j.job_id)) select.appendChild(new Option(j.job_id, j.job_id));
}

/// #tasks?job=ID (a job's link): the tasks view filtered by that job.
function followJobLink() {
  const m = /^#tasks\?job=(.+)$/.exec(location.hash);
  if (!m) return;
  const job = decodeURIComponent(m[1]);
  const select = $('#task-job');
  if (![...select.options].some((o) => o.value === job)) select.appendChild(new Option(job, job));
  select.value = job;
  document.getElementById('tasks').scrollIntoView();
  refresh();
}

window.addEventListener('hashchange', followJobLink);
window.addEventListener('DOMContentLoaded', followJobLink);
$('#task-job').addEventListener('change', refresh);
