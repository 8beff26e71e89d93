// The dashboard's graphs over time, drawn with Chart.js (Debian's
// libjs-chart.js, served by the dashboard as chart.min.js). Reads
// /api/series: one sample a second of each node for the last ten minutes
// (kept by the server, so a freshly opened page shows history) and, for the
// cluster, their sums. The first read takes the whole rings; each later one
// asks only for the samples since the newest it has (`?since=T`, less a few
// seconds the head may still revise) and appends them. Counts of ended
// tasks are cumulative; the page turns them into rates per second.
'use strict';

const graphColors = ['#457b9d', '#e63946', '#2a9d8f', '#f4a261', '#6d597a', '#264653'];

/// "14:03:27" for a sample's time (milliseconds since the epoch).
function clockTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

function graphBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/// Ticks of a time axis on round numbers of seconds (1, 2, 5, 10, 15, 30 s,
/// then minutes), at most about six, so no two read the same.
function wholeSeconds(axis) {
  const span = (axis.max - axis.min) / 1000;
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600];
  const step = 1000 * (steps.find((s) => span / s <= 6) ?? 600);
  axis.ticks = [];
  for (let t = Math.ceil(axis.min / step) * step; t <= axis.max; t += step) axis.ticks.push({ value: t });
}

/// "12.5%"; a dash before the second sample (the first has no CPU use).
function percent(v) {
  return v === null || v === undefined ? '–' : `${v.toFixed(1)}%`;
}

/// A line chart on `canvas` with one dataset per label; `unit` formats the
/// y axis ('bytes', '%' or a plain count).
function makeChart(canvas, title, labels, unit) {
  const tickY = unit === 'bytes' ? graphBytes : unit === '%' ? (v) => `${v}%` : (v) => v;
  return new Chart(canvas, {
    type: 'line',
    data: {
      datasets: labels.map((label, i) => ({
        label, data: [], borderColor: graphColors[i % graphColors.length],
        backgroundColor: graphColors[i % graphColors.length], borderWidth: 1.5,
        pointRadius: 0, tension: 0,
      })),
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
      normalized: true,
      plugins: {
        title: { display: true, text: title },
        legend: { labels: { boxWidth: 12 } },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? clockTime(items[0].parsed.x) : ''),
            label: (item) => `${item.dataset.label}: ${tickY(item.parsed.y)}`,
          },
        },
      },
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: { type: 'linear', ticks: { callback: clockTime }, afterBuildTicks: wholeSeconds },
        y: { beginAtZero: true, ticks: { callback: tickY }, max: unit === '%' ? 100 : undefined },
      },
    },
  });
}

/// Points {x: time, y} of `field`, or of its rate per second when `rate`.
function points(samples, field, rate) {
  if (!rate) return samples.map((s) => ({ x: s.time_ms, y: s[field] }));
  const out = [];
  for (let i = 1; i < samples.length; ++i) {
    const dt = (samples[i].time_ms - samples[i - 1].time_ms) / 1000;
    if (dt <= 0) continue;
    out.push({ x: samples[i].time_ms, y: Math.max(0, samples[i][field] - samples[i - 1][field]) / dt });
  }
  return out;
}

/// Replaces each dataset's points; `series` is [[field, rate], ...] in the
/// order of the chart's datasets.
function setPoints(chart, samples, series) {
  series.forEach(([field, rate], i) => { chart.data.datasets[i].data = points(samples, field, rate); });
  chart.update('none');
}

// The cluster's charts (a node's own page: that node's).
const clusterGraphs = {};
// Per node, by name: its element and charts.
const nodeGraphs = new Map();
// The samples drawn: "cluster" and per node name, oldest first.
const keptSeries = new Map();
/// What the page keeps of a series: the ten minutes the server keeps.
const keptSpanMs = 600 * 1000;
/// Samples this close to the newest are asked for again: the head's sum
/// for a second changes when a node's sample of it arrives late.
const revisedMs = 3000;
// A node appeared that the page holds no samples of (it joined, or answered
// again after missing a read): the next read takes the whole rings.
let wholeNext = false;

/// `kept` with `fresh` (newer samples, oldest first) in place of any kept
/// sample as new as fresh's first, cut to the last ten minutes.
function appendSamples(kept, fresh) {
  if (!fresh.length) return kept;
  const from = fresh[0].time_ms;
  const out = kept.filter((s) => s.time_ms < from).concat(fresh);
  const newest = out[out.length - 1].time_ms;
  return out.filter((s) => s.time_ms > newest - keptSpanMs);
}

/// The `since` of the next read: the oldest of the newest samples kept,
/// less `revisedMs`; 0 (everything) before the first read and after a new
/// node showed.
function seriesSince() {
  if (wholeNext) { wholeNext = false; return 0; }
  let since = Infinity;
  for (const samples of keptSeries.values())
    if (samples.length) since = Math.min(since, samples[samples.length - 1].time_ms);
  return since === Infinity ? 0 : Math.max(0, since - revisedMs);
}

/// Merges an answer of /api/series into keptSeries: the cluster's and each
/// named node's samples; nodes the answer no longer names are dropped.
/// `since`: what the read asked for.
function keepSeries(answer, since) {
  const names = new Set(['cluster']);
  if (since && answer.nodes.some((n) => !keptSeries.has(n.name))) wholeNext = true;
  keptSeries.set('cluster', appendSamples(keptSeries.get('cluster') || [], answer.cluster));
  for (const node of answer.nodes) {
    names.add(node.name);
    keptSeries.set(node.name, appendSamples(keptSeries.get(node.name) || [], node.samples));
  }
  for (const name of [...keptSeries.keys()]) if (!names.has(name)) keptSeries.delete(name);
}

function clusterChart(id, title, labels, unit) {
  if (!clusterGraphs[id]) clusterGraphs[id] = makeChart(document.getElementById(id), title, labels, unit);
  return clusterGraphs[id];
}

function card(value, label) {
  const d = document.createElement('div');
  d.className = 'card';
  d.innerHTML = '<b></b><span></span>';
  d.firstChild.textContent = value;
  d.lastChild.textContent = label;
  return d;
}

/// The block of one node: its numbers now and its CPU and memory graphs.
function nodeBlock(name) {
  let g = nodeGraphs.get(name);
  if (g) return g;
  const div = document.createElement('div');
  div.className = 'node-graphs';
  div.dataset.node = name;
  div.innerHTML = '<h3></h3><div class="cards"></div><div class="charts">'
    + '<div class="chart"><canvas class="cpu"></canvas></div>'
    + '<div class="chart"><canvas class="mem"></canvas></div></div>';
  div.querySelector('h3').textContent = name;
  document.getElementById('node-graphs').appendChild(div);
  g = {
    div,
    cpu: makeChart(div.querySelector('canvas.cpu'), 'CPU (% of the machine)',
      ['this process', 'machine'], '%'),
    mem: makeChart(div.querySelector('canvas.mem'), 'memory',
      ['resident (RSS)', 'machine used', 'object store', 'spilled'], 'bytes'),
  };
  nodeGraphs.set(name, g);
  return g;
}

async function refreshGraphs() {
  const since = seriesSince();
  const r = await fetch(since ? `/api/series?since=${since}` : '/api/series', { cache: 'no-store' });
  if (!r.ok) throw new Error(`/api/series: ${r.status}`);
  const answer = await r.json();
  keepSeries(answer, since);
  const s = {
    cluster: keptSeries.get('cluster'),
    nodes: answer.nodes.map((n) => ({ name: n.name, samples: keptSeries.get(n.name) })),
  };
  document.getElementById('cluster-graphs-title').textContent =
    s.nodes.length > 1 ? `Cluster: ${s.nodes.length} nodes summed` : 'Totals';
  setPoints(clusterChart('chart-task-rate', 'tasks ended per second',
    ['finished', 'failed', 'actor calls'], ''), s.cluster,
  [['finished', true], ['failed', true], ['actor_calls', true]]);
  setPoints(clusterChart('chart-task-levels', 'tasks running and queued',
    ['running', 'queued'], ''), s.cluster, [['running', false], ['queued', false]]);
  setPoints(clusterChart('chart-store', 'object store', ['in memory', 'spilled'], 'bytes'),
    s.cluster, [['store_bytes', false], ['spilled_bytes', false]]);

  const seen = new Set();
  for (const node of s.nodes) {
    seen.add(node.name);
    const g = nodeBlock(node.name);
    const last = node.samples[node.samples.length - 1];
    if (last) {
      g.div.querySelector('.cards').replaceChildren(
        card(percent(last.cpu_percent), 'CPU (this process)'),
        card(percent(last.machine_cpu_percent), 'CPU (machine)'),
        card(graphBytes(last.rss_bytes), 'resident memory'),
        card(`${graphBytes(last.machine_used_bytes)} / ${graphBytes(last.machine_total_bytes)}`,
          'machine memory'),
        card(`${graphBytes(last.store_bytes)} / ${graphBytes(last.budget_bytes)}`, 'object store'),
        card(graphBytes(last.spilled_bytes), 'spilled'));
    }
    setPoints(g.cpu, node.samples, [['cpu_percent', false], ['machine_cpu_percent', false]]);
    setPoints(g.mem, node.samples, [['rss_bytes', false], ['machine_used_bytes', false],
      ['store_bytes', false], ['spilled_bytes', false]]);
  }
  for (const [name, g] of nodeGraphs) {
    if (seen.has(name)) continue;
    g.cpu.destroy();
    g.mem.destroy();
    g.div.remove();
    nodeGraphs.delete(name);
  }
}
