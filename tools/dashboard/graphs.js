// The dashboard's graphs over time, drawn with Chart.js (Debian's
// libjs-chart.js, served by the dashboard as chart.min.js). Reads
// /api/series: one sample a second of each node for the last ten minutes
// (kept by the server, so a freshly opened page shows history) and, for the
// cluster, their sums. Counts of ended tasks are cumulative; the page turns
// them into rates per second.
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
  const r = await fetch('/api/series', { cache: 'no-store' });
  if (!r.ok) throw new Error(`/api/series: ${r.status}`);
  const s = await r.json();
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
