// The dashboard's graphs and timeline as a browser sees them (used by
// dashboard_test.mjs): the Chart.js charts hold points read from the page's
// Chart instances, the timeline has a time axis with labelled ticks, only
// rows that ran something, and zooms; one screenshot per view.

/// The number of points of each dataset of the chart drawn on `selector`
/// (null without a chart there).
async function pointCounts(page, selector) {
  return page.evaluate((sel) => {
    const canvas = document.querySelector(sel);
    const chart = canvas && globalThis.Chart && Chart.getChart(canvas);
    return chart ? chart.data.datasets.map((d) => d.data.length) : null;
  }, selector);
}

/// The y values of dataset `i` of the chart on `selector`.
async function values(page, selector, i) {
  return page.evaluate(([sel, k]) => Chart.getChart(document.querySelector(sel))
    .data.datasets[k].data.map((p) => p.y), [selector, i]);
}

/// Waits (at most `ms`) until the chart on `selector` has `n` points in its
/// first dataset.
async function waitForPoints(page, selector, n, ms = 15000) {
  await page.waitForFunction(([sel, k]) => {
    const canvas = document.querySelector(sel);
    const chart = canvas && globalThis.Chart && Chart.getChart(canvas);
    return chart && chart.data.datasets[0].data.length >= k;
  }, [selector, n], { timeout: ms });
}

/// Waits (at most `ms`) until the y values of dataset `i` of the chart on
/// `selector` meet `how` with `x` ('some-above': a value above x;
/// 'last-is': the newest is x; 'last-at-least': the newest is x or more),
/// then returns them; on time-out returns them as they are, for the
/// caller's check to report. A member that answers the head's read too late
/// (its bound) is left out of that read's sums, and the page mends its
/// history with a whole read once the member shows again (graphs.js,
/// `wholeNext`): on a loaded machine the first points may lack a member.
async function settledValues(page, selector, i, how, x, ms = 15000) {
  try {
    await page.waitForFunction(([sel, k, test, bound]) => {
      const canvas = document.querySelector(sel);
      const chart = canvas && globalThis.Chart && Chart.getChart(canvas);
      if (!chart) return false;
      const ys = chart.data.datasets[k].data.map((p) => p.y);
      if (test === 'some-above') return ys.some((y) => y > bound);
      if (test === 'last-is') return ys.at(-1) === bound;
      return ys.at(-1) >= bound;
    }, [selector, i, how, x], { timeout: ms });
  } catch {
    // The check that follows names what the chart shows.
  }
  return values(page, selector, i);
}

/// "+1.5 s", "+250 ms", "+40 µs" in microseconds.
function tickMicros(label) {
  const m = /^\+(\d+(?:\.\d+)?) (s|ms|µs)$/.exec(label);
  if (!m) return NaN;
  return Number(m[1]) * { s: 1e6, ms: 1e3, 'µs': 1 }[m[2]];
}

async function tickLabels(page) {
  return page.locator('#timeline-svg g.tick text').allTextContents();
}

/// After its first read the page asks /api/series only for newer samples
/// (`?since=T`) and appends them: the next reads carry `since` and are
/// answered only samples newer than T, fewer than the chart holds, and the
/// chart grows while keeping its oldest point.
async function checkAppends(page, fail) {
  const answers = [];
  const seen = async (response) => {
    if (!response.url().includes('/api/series')) return;
    const since = Number(new URL(response.url()).searchParams.get('since'));
    const body = await response.json().catch(() => null);
    const times = body ? body.cluster.concat(...body.nodes.map((n) => n.samples))
      .map((x) => x.time_ms) : [];
    answers.push({ since, samples: body ? body.cluster.length : -1, oldest: Math.min(...times) });
  };
  page.on('response', seen);
  const chart = '#chart-task-levels';
  const firstX = () => page.evaluate((sel) =>
    Chart.getChart(document.querySelector(sel)).data.datasets[0].data[0].x, chart);
  const oldest = await firstX();
  const before = (await pointCounts(page, chart))[0];
  // Past the seconds a read asks for again, so that one answers fewer.
  await waitForPoints(page, chart, Math.max(before + 3, 8), 20000);
  page.off('response', seen);
  const now = (await pointCounts(page, chart))[0];
  // (A node missing from one read, say one slow to answer the head, makes
  // the next read a whole one: most carry since, not all must.)
  const partial = answers.filter((a) => a.since > 0);
  if (!partial.length || partial.length < answers.length / 2)
    fail(`too few reads with since: ${JSON.stringify(answers)}`);
  if (partial.some((a) => a.samples < 0 || a.oldest <= a.since))
    fail(`a read was answered samples not newer than its since: ${JSON.stringify(answers)}`);
  if (!partial.some((a) => a.samples < now))
    fail(`no read answered fewer than the ${now} samples drawn: ${JSON.stringify(answers)}`);
  if ((await firstX()) !== oldest) fail('appending lost the chart\'s oldest point');
  console.log(`graphs: ${answers.length} reads answered `
    + `${answers.map((a) => `${a.samples}${a.since ? '' : ' (whole)'}`)} samples; the chart grew `
    + `from ${before} to ${now} points`);
}

/// Checks graphs and timeline; `fail` reports a failed check. `nodes`: the
/// names of the nodes whose graphs must show (each with CPU points);
/// `running`: how many tasks the workload keeps running.
export async function checkGraphsAndTimeline(page, fail, { nodes, running, shots }) {
  // The cluster's (or node's) charts: two samples make a rate.
  await waitForPoints(page, '#chart-task-rate', 1);
  await waitForPoints(page, '#chart-task-levels', 2);
  await waitForPoints(page, '#chart-store', 2);
  for (const id of ['#chart-task-rate', '#chart-task-levels', '#chart-store']) {
    const counts = await pointCounts(page, id);
    if (!counts || counts.some((n) => n < 1)) fail(`chart ${id} has points ${counts}`);
  }
  // The workload finished tasks before the page opened: the history shows
  // them as a rate above zero, and the store the bytes it holds.
  const finishedRate = await settledValues(page, '#chart-task-rate', 0, 'some-above', 0);
  if (!finishedRate.some((y) => y > 0)) fail(`no finished tasks per second: ${finishedRate}`);
  const runningNow = (await settledValues(page, '#chart-task-levels', 0, 'last-is', running)).at(-1);
  if (runningNow !== running) fail(`running tasks graph ends at ${runningNow}, not ${running}`);
  const store = (await settledValues(page, '#chart-store', 0, 'last-at-least', 512 * 1024)).at(-1);
  if (!(store >= 512 * 1024)) fail(`object store graph ends at ${store} bytes`);

  // A block per node, with its numbers and CPU and memory graphs.
  for (const name of nodes) {
    const block = `.node-graphs[data-node="${name}"]`;
    await page.locator(block).waitFor({ timeout: 10000 });
    await waitForPoints(page, `${block} canvas.cpu`, 2);
    const mem = await pointCounts(page, `${block} canvas.mem`);
    if (!mem || mem.some((n) => n < 2)) fail(`${name}'s memory graph has points ${mem}`);
    const rss = (await values(page, `${block} canvas.mem`, 0)).at(-1);
    if (!(rss > 1e6)) fail(`${name}'s resident memory reads ${rss}`);
    const cards = await page.locator(`${block} .card`).allInnerTexts();
    if (!cards.some((c) => c.includes('resident memory')) || !cards.some((c) => /%/.test(c)))
      fail(`${name}'s numbers: ${cards.join(' | ')}`);
  }
  await checkAppends(page, fail);
  await page.locator('#graphs').screenshot({ path: shots('graphs') });

  // The timeline: labelled ticks on a time axis, one row per thread that
  // ran something (each row has a slice), as many rows as such threads.
  await page.waitForFunction(() => document.querySelectorAll('#timeline-svg g.tick').length >= 3,
    null, { timeout: 10000 });
  const labels = await tickLabels(page);
  if (labels.some((l) => Number.isNaN(tickMicros(l)))) fail(`timeline ticks read: ${labels}`);
  const rows = await page.evaluate(async () => {
    const trace = await (await fetch('/api/timeline')).json();
    const used = new Set(trace.traceEvents.filter((e) => e.ph === 'X').map((e) => `${e.pid}:${e.tid}`));
    const named = trace.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name').length;
    const shown = [...document.querySelectorAll('#timeline-svg .row-label')].map((t) => t.dataset.row);
    const empty = shown.filter((i) => !document.querySelector(`#timeline-svg rect[data-row="${i}"]`));
    return { used: used.size, named, shown: shown.length, empty };
  });
  console.log(`timeline: ${rows.shown} rows shown, ${rows.used} threads ran something, `
    + `${rows.named} named; ticks ${labels.join(' ')}`);
  if (rows.shown === 0 || rows.shown !== rows.used || rows.empty.length)
    fail(`timeline rows: ${JSON.stringify(rows)}`);
  const span = (ls) => tickMicros(ls.at(-1)) - tickMicros(ls[0]);
  // Zoom in with the button: the ticks cover less time.
  const before = span(labels);
  await page.click('#tl-zoom-in');
  await page.click('#tl-zoom-in');
  const zoomed = await tickLabels(page);
  if (!(span(zoomed) < before / 2)) fail(`zooming in: ticks ${labels} became ${zoomed}`);
  if ((await page.locator('#timeline-range').innerText()) === 'whole trace')
    fail('the zoomed timeline still says whole trace');
  // And out again with the wheel.
  await page.locator('#timeline-svg').scrollIntoViewIfNeeded();
  const box = await page.locator('#timeline-svg').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  // Each notch widens the view 1.25 times; the trace grows while it runs.
  const range = () => page.locator('#timeline-range').innerText();
  for (let i = 0; i < 30 && (await range()) !== 'whole trace'; ++i) await page.mouse.wheel(0, 200);
  if ((await range()) !== 'whole trace') fail(`the wheel did not zoom back out: ${await range()}`);
  await page.locator('#timeline').screenshot({ path: shots('timeline') });
}

/// One screenshot per table view.
export async function shootViews(page, shots) {
  for (const view of ['overview', 'tasks', 'actors', 'objects', 'memory'])
    await page.locator(`#${view}`).screenshot({ path: shots(view) });
}
