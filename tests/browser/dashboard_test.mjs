// Drives the dashboard in headless Chromium: starts a real node
// (tests/observed_node: a running task, a task waiting for it, a named actor,
// an object), opens its dashboard and checks that they appear, then takes a
// screenshot. Run by meson (suite 'browser') through run.sh.
// With `cluster`, the program is tests/observed_cluster (a head, a worker and
// a driver) and the page is the head's: the task running on the worker, actor
// keeper on the worker and the driver's object, each with its node.
// Both check the graphs (points in the Chart.js charts, per node too) and the
// timeline (axis, only rows that ran something, zoom): graphs_checks.mjs.
// The cluster's page also has its logs view and detail pages checked
// (detail_checks.mjs); both their jobs and placement groups views
// (jobs_checks.mjs).
// Besides the full page, one screenshot per view: SCREENSHOT_PATH with
// -graphs, -timeline, -tasks, -logs, -task-detail... before .png.
//
//   node dashboard_test.mjs OBSERVED_NODE|OBSERVED_CLUSTER SCREENSHOT_PATH [cluster]

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { checkLogsAndDetails } from './detail_checks.mjs';
import { checkGraphsAndTimeline, shootViews } from './graphs_checks.mjs';
import { checkJobsAndGroups } from './jobs_checks.mjs';

const [nodeExe, screenshot, mode] = process.argv.slice(2);
if (!nodeExe || !screenshot || (mode && mode !== 'cluster')) {
  console.error('usage: node dashboard_test.mjs OBSERVED_NODE SCREENSHOT_PATH [cluster]');
  process.exit(2);
}

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exitCode = 1;
}

/// Starts the observed node and reads its "key value" lines up to "ready".
async function startNode() {
  const child = spawn(nodeExe, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const info = {};
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    if (line === 'ready') break;
    const space = line.indexOf(' ');
    if (space > 0) info[line.slice(0, space)] = line.slice(space + 1);
  }
  if (!info.dashboard) throw new Error('the observed node exited before it was ready');
  return { child, info };
}

/// The head's page: every node's records, each with its node.
async function checkCluster(page, info) {
  const cells = async (row) => (await row.locator('td').allInnerTexts()).map((t) => t.trim());

  const taskRow = page.locator('#tasks-table tbody tr', { hasText: info.held });
  await taskRow.waitFor({ timeout: 10000 });
  const task = await cells(taskRow); // id name kind state thread node duration error
  if (task[1] !== 'held_step' || task[3] !== 'RUNNING' || task[5] !== info.worker)
    fail(`the running task's row reads: ${task.join(' | ')}`);

  const actorRow = page.locator('#actors-table tbody tr', { hasText: 'keeper' });
  await actorRow.waitFor({ timeout: 10000 });
  const actor = await cells(actorRow); // class name state restarts queued running node cause
  if (actor[2] !== 'ALIVE' || actor[6] !== info.worker)
    fail(`actor keeper's row reads: ${actor.join(' | ')}`);

  const objectRow = page.locator('#objects-table tbody tr', { hasText: info.object });
  await objectRow.waitFor({ timeout: 10000 });
  const object = await cells(objectRow); // id size where node type refs created-by
  if (object[2] !== 'memory' || object[3] !== info.driver)
    fail(`the driver's object's row reads: ${object.join(' | ')}`);

  const nodes = await page.locator('#nodes-table tbody').innerText();
  for (const want of ['head', info.worker, info.driver])
    if (!nodes.includes(want)) fail(`nodes table lacks ${want}: ${nodes}`);
  if (!(await page.locator('#node').innerText()).startsWith('cluster at'))
    fail('the header does not name the cluster');

  // The timeline has the worker's executor rows, named after the worker.
  const labels = await page.locator('#timeline-svg text').allTextContents();
  if (!labels.some((l) => l.startsWith(`${info.worker} executor-`)))
    fail(`timeline rows: ${labels}`);
  if (!(await page.locator('#memory-text').innerText()).includes(`== ${info.worker} (worker) ==`))
    fail('the memory view lacks the worker');
}

/// A node's own page.
async function checkNode(page, info) {
  const taskRow = page.locator('#tasks-table tbody tr', { hasText: info.blocked });
  await taskRow.waitFor({ timeout: 10000 });
  const taskText = await taskRow.innerText();
  if (!taskText.includes('blocked_step') || !taskText.includes('RUNNING'))
    fail(`the running task's row reads: ${taskText}`);

  const pendingRow = page.locator('#tasks-table tbody tr', { hasText: info.pending });
  if (!(await pendingRow.innerText()).includes('PENDING_ARGS'))
    fail('the waiting task is not shown as PENDING_ARGS');

  const actorRow = page.locator('#actors-table tbody tr', { hasText: 'keeper' });
  await actorRow.waitFor({ timeout: 10000 });
  if (!(await actorRow.innerText()).includes('ALIVE')) fail('actor keeper is not ALIVE');

  const objectRow = page.locator('#objects-table tbody tr', { hasText: info.object });
  await objectRow.waitFor({ timeout: 10000 });
  if (!(await objectRow.innerText()).includes('memory')) fail('the object is not in memory');

  const nodeText = await page.locator('#nodes-table tbody').innerText();
  if (!nodeText.includes('driver') || !nodeText.includes('CPU')) fail(`nodes: ${nodeText}`);

  // The timeline view draws one labelled row per executor thread.
  const labels = await page.locator('#timeline-svg text').allTextContents();
  if (!labels.some((l) => l.startsWith('executor-'))) fail(`timeline rows: ${labels}`);
}

const { child, info } = await startNode();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(info.dashboard);
  // The page refreshes every second; wait for a full refresh.
  await page.waitForFunction(() => Number(document.body.dataset.refreshed || 0) >= 1,
    null, { timeout: 15000 });

  if (mode === 'cluster') await checkCluster(page, info);
  else await checkNode(page, info);
  const shots = (view) => screenshot.replace(/(\.png)?$/, `-${view}.png`);
  const nodes = mode === 'cluster' ? [info.worker, info.driver]
    : [await page.locator('#node').innerText()];
  await checkGraphsAndTimeline(page, fail, { nodes, running: 1, shots });
  await shootViews(page, shots);

  // Filtering by state shows only the running task.
  await page.selectOption('#task-state', 'RUNNING');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#tasks-table tbody tr')];
    return rows.length === 1 && rows[0].innerText.includes('RUNNING');
  }, null, { timeout: 10000 });

  await page.screenshot({ path: screenshot, fullPage: true });
  // The jobs and placement groups views (jobs_checks.mjs).
  await checkJobsAndGroups(page, fail, info, mode, shots);
  // The logs view and the detail pages (tests/observed_cluster's workload).
  if (mode === 'cluster') await checkLogsAndDetails(page, fail, info, shots);
  if (errors.length) fail(`page errors: ${errors.join('; ')}`);
  console.log(`dashboard checked; screenshot in ${screenshot}`);
} catch (e) {
  fail(e.message);
} finally {
  await browser.close();
  child.stdin.end(); // lets the node finish its workload and exit
}
