// The dashboard's timeline: the trace of /api/timeline (Chrome trace
// events) drawn as an SVG, one row per thread that ran something (a
// cluster's trace has one process per node), under a time axis whose ticks
// fall on round steps. Zoom with the wheel (around the pointer) or the
// buttons, pan by dragging or with the arrow buttons; "whole trace" zooms
// back out, and then the view follows the trace as it grows.
'use strict';

const svgNs = 'http://www.w3.org/2000/svg';
const axisH = 26, rowH = 22;

// The visible window in trace microseconds; null: the whole trace.
let tlView = null;
// What the last refresh read: rows, slices and the trace's extent.
let tl = null;

/// A round step (1, 2 or 5 times a power of ten) near `span` / `count`.
function niceStep(span, count) {
  const raw = Math.max(span / count, 1e-3);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

/// "+750 ms", "+1.25 s", "+40 µs": an offset from the trace's start,
/// precise enough for ticks `step` apart.
function offsetLabel(us, step) {
  const digits = (unit) => Math.max(0, Math.min(3, -Math.floor(Math.log10(step / unit) + 1e-9)));
  if (step >= 1e6 || Math.abs(us) >= 1e6 && step >= 1e5) return `+${(us / 1e6).toFixed(digits(1e6))} s`;
  if (step >= 1e3) return `+${(us / 1e3).toFixed(digits(1e3))} ms`;
  return `+${us.toFixed(digits(1))} µs`;
}

function svgEl(name, attrs, text) {
  const e = document.createElementNS(svgNs, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

async function refreshTimeline() {
  // The 2,000 runs that started last (per node): the whole trace is the
  // download link's.
  const trace = await json('/api/timeline?newest=2000');
  const processes = new Map();
  const names = new Map();
  const slices = [];
  const key = (e) => `${e.pid}:${e.tid}`;
  for (const e of trace.traceEvents) {
    if (e.ph === 'M' && e.name === 'process_name') processes.set(e.pid, e.args.name);
    if (e.ph === 'M' && e.name === 'thread_name') names.set(key(e), e);
    if (e.ph === 'X') slices.push(e);
  }
  // Only the threads that ran something, in process and thread order.
  const used = new Map();
  for (const s of slices) if (!used.has(key(s))) used.set(key(s), { pid: s.pid, tid: s.tid });
  const rows = [...used.keys()].sort((a, b) => {
    const [x, y] = [used.get(a), used.get(b)];
    return x.pid !== y.pid ? x.pid - y.pid : x.tid - y.tid;
  });
  const several = processes.size > 1;
  const label = (k) => {
    const meta = names.get(k);
    const thread = meta ? meta.args.name : `thread ${used.get(k).tid}`;
    return (several ? `${processes.get(used.get(k).pid)} ` : '') + thread;
  };
  let t0 = Infinity, t1 = -Infinity;
  for (const s of slices) { t0 = Math.min(t0, s.ts); t1 = Math.max(t1, s.ts + s.dur); }
  tl = { rows, labels: rows.map(label), index: new Map(rows.map((k, i) => [k, i])), slices,
    t0, t1: Math.max(t1, t0 + 1), key, labelW: several ? 260 : 110 };
  drawTimeline();
}

function drawTimeline() {
  const svg = $('#timeline-svg');
  svg.replaceChildren();
  if (!tl || !tl.slices.length) {
    svg.setAttribute('height', 40);
    svg.appendChild(svgEl('text', { x: 2, y: 20 }, 'nothing has run yet'));
    svg.dataset.rows = '0';
    return;
  }
  const { rows, labels, index, slices, t0, t1, key, labelW } = tl;
  const width = svg.clientWidth || 1000;
  const plotW = Math.max(100, width - labelW - 10);
  const [v0, v1] = tlView ?? [t0, t1];
  const scale = plotW / (v1 - v0);
  const x = (t) => labelW + (t - v0) * scale;
  svg.setAttribute('height', axisH + rows.length * rowH + 6);
  svg.dataset.rows = String(rows.length);

  const clip = svgEl('clipPath', { id: 'tl-plot' });
  clip.appendChild(svgEl('rect', { x: labelW, y: 0, width: plotW, height: axisH + rows.length * rowH }));
  svg.appendChild(clip);

  // The axis: a tick on each round step, labelled as the offset from the
  // trace's start; a faint line down through the rows.
  const step = niceStep(v1 - v0, Math.max(2, Math.floor(plotW / 110)));
  const axis = svgEl('g', { class: 'axis' });
  axis.appendChild(svgEl('line', { x1: labelW, x2: labelW + plotW, y1: axisH - 4, y2: axisH - 4, stroke: '#888' }));
  for (let t = Math.ceil((v0 - t0) / step) * step + t0; t <= v1 + 1e-6; t += step) {
    const tick = svgEl('g', { class: 'tick' });
    tick.appendChild(svgEl('line', { x1: x(t), x2: x(t), y1: axisH - 8, y2: axisH + rows.length * rowH, stroke: '#ddd' }));
    tick.appendChild(svgEl('text', { x: x(t), y: axisH - 11, 'text-anchor': 'middle', 'font-size': 11 },
      offsetLabel(t - t0, step)));
    axis.appendChild(tick);
  }
  svg.appendChild(axis);

  rows.forEach((row, i) => {
    svg.appendChild(svgEl('text', { class: 'row-label', 'data-row': i, x: 2, y: axisH + i * rowH + 15 }, labels[i]));
  });
  const plot = svgEl('g', { 'clip-path': 'url(#tl-plot)' });
  const visible = slices.filter((s) => s.ts + s.dur >= v0 && s.ts <= v1);
  // A task run under its parent's wait (help-while-waiting) nests inside
  // the parent's slice on the same thread: drawn inset, a step per level.
  const open = new Map(); // row -> end times of the slices open there
  for (const s of visible.slice(-5000)) {
    const row = index.get(key(s));
    const ends = open.get(row) ?? [];
    while (ends.length && ends[ends.length - 1] <= s.ts) ends.pop();
    const depth = Math.min(ends.length, 3);
    ends.push(s.ts + s.dur);
    open.set(row, ends);
    const r = svgEl('rect', { 'data-row': row, x: x(s.ts), y: axisH + row * rowH + 3 + 2 * depth,
      width: Math.max(1, s.dur * scale), height: rowH - 6 - 4 * depth,
      fill: s.cat === 'actor_call' ? '#e76f51' : '#457b9d' });
    r.appendChild(svgEl('title', {},
      `${s.name} ${s.args.id} ${s.args.state} ${(s.dur / 1000).toFixed(2)} ms`));
    plot.appendChild(r);
  }
  svg.appendChild(plot);
  $('#timeline-range').textContent = tlView
    ? `${offsetLabel(v0 - t0, step)} to ${offsetLabel(v1 - t0, step)}` : 'whole trace';
}

/// Zooms by `factor` (< 1: in) keeping the time under `at` (0..1 of the
/// plot's width) in place.
function zoomTimeline(factor, at = 0.5) {
  if (!tl) return;
  const [v0, v1] = tlView ?? [tl.t0, tl.t1];
  const span = Math.max(10, (v1 - v0) * factor);
  if (span >= tl.t1 - tl.t0) { tlView = null; drawTimeline(); return; }
  const anchor = v0 + at * (v1 - v0);
  panTo(anchor - at * span, span);
}

/// Shows [start, start + span], kept inside the trace.
function panTo(start, span) {
  start = Math.min(Math.max(start, tl.t0), tl.t1 - span);
  tlView = [start, start + span];
  drawTimeline();
}

function panTimeline(fraction) {
  if (!tl || !tlView) return;
  const span = tlView[1] - tlView[0];
  panTo(tlView[0] + fraction * span, span);
}

/// The pointer's place in the plot, 0..1.
function plotFraction(ev) {
  const svg = $('#timeline-svg');
  const w = Math.max(100, (svg.clientWidth || 1000) - tl.labelW - 10);
  return Math.min(1, Math.max(0, (ev.offsetX - tl.labelW) / w));
}

(() => {
  const svg = $('#timeline-svg');
  svg.addEventListener('wheel', (ev) => {
    if (!tl) return;
    ev.preventDefault();
    zoomTimeline(ev.deltaY < 0 ? 0.8 : 1.25, plotFraction(ev));
  }, { passive: false });
  let drag = null;
  svg.addEventListener('mousedown', (ev) => { if (tl && tlView) drag = { x: ev.clientX, view: tlView }; });
  window.addEventListener('mouseup', () => { drag = null; });
  svg.addEventListener('mousemove', (ev) => {
    if (!drag) return;
    const w = Math.max(100, (svg.clientWidth || 1000) - tl.labelW - 10);
    const span = drag.view[1] - drag.view[0];
    panTo(drag.view[0] - ((ev.clientX - drag.x) / w) * span, span);
  });
  $('#tl-zoom-in').addEventListener('click', () => zoomTimeline(0.5));
  $('#tl-zoom-out').addEventListener('click', () => zoomTimeline(2));
  $('#tl-left').addEventListener('click', () => panTimeline(-0.25));
  $('#tl-right').addEventListener('click', () => panTimeline(0.25));
  $('#tl-reset').addEventListener('click', () => { tlView = null; drawTimeline(); });
})();
