// The dashboard's logs view and detail pages as a browser sees them (used
// by dashboard_test.mjs against tests/observed_cluster, whose workload
// printed "shout 7 from the worker" on the worker, and failed `boom` there
// and `after_boom`, `after_after` of it on the driver): the logs view finds
// the line by a search the server filters, the failed task's page shows the
// chain down to boom's error, actor keeper's page its state, node, state
// history, log line and the runs of its three calls on a time axis. One
// screenshot per view.

/// Waits for `fn` (run in the page) to be true, at most `ms`.
async function until(page, fn, arg, ms = 15000) {
  await page.waitForFunction(fn, arg, { timeout: ms });
}

export async function checkLogsAndDetails(page, fail, info, shots) {
  // The logs view: every node, searched for the printed line.
  await page.goto(`${info.dashboard}#logs`);
  await page.fill('#log-search', 'shout 7 from');
  await page.click('#log-go');
  // The answer to the search (not one the page's refresh asked before).
  await until(page, () => {
    const rows = [...document.querySelectorAll('#logs-table tbody tr')];
    return rows.length > 0 && rows.every((r) => r.innerText.includes('shout 7 from the worker'));
  });
  const rows = await page.locator('#logs-table tbody tr').allInnerTexts();
  if (rows.some((r) => !r.includes('shout 7 from')))
    fail(`the search kept lines without the text: ${rows.join(' | ')}`);
  if (!rows.some((r) => r.includes(info.worker) && r.includes(info.shouted)))
    fail(`no line of task ${info.shouted} from ${info.worker}: ${rows.join(' | ')}`);
  // A search nothing matches shows no line (the server filtered).
  await page.fill('#log-search', 'no line says this');
  await page.click('#log-go');
  await until(page, () => document.querySelectorAll('#logs-table tbody tr').length === 0
    && document.querySelector('#log-status').textContent === '0 lines');
  await page.fill('#log-search', 'shout 7 from');
  await page.click('#log-go');
  await page.locator('#logs-table tbody tr').first().waitFor({ timeout: 10000 });
  await page.locator('#logs').screenshot({ path: shots('logs') });

  // The failed task's page, reached by clicking its id in the tasks table.
  await page.goto(`${info.dashboard}#tasks`);
  await page.selectOption('#task-state', ''); // all states (the test filtered)
  await page.locator('#tasks-table a', { hasText: info.failed }).click();
  await until(page, () => document.querySelectorAll('#detail-chain tbody tr').length >= 3);
  const chain = await page.locator('#detail-chain tbody tr').allInnerTexts();
  // this task (after_after), its argument's (after_boom), boom's: each with boom's error.
  const want = ['after_after', 'after_boom', 'boom'];
  want.forEach((name, i) => {
    if (!chain[i] || !chain[i].includes(name) || !chain[i].includes('FAILED')
        || !chain[i].includes('boom: the disk is full'))
      fail(`error chain row ${i} reads: ${chain[i]}`);
  });
  // The driver's record of a task it placed names the node ("node-1").
  if (!chain[2].includes(info.boom) || !chain[2].includes(info.worker.split(' ')[0]))
    fail(`the first failure is not boom on the worker: ${chain[2]}`);
  const history = await page.locator('#detail-history tbody').innerText();
  if (!history.includes('SUBMITTED') || !history.includes('FAILED'))
    fail(`state history: ${history}`);
  const args = await page.locator('#detail-args tbody tr').allInnerTexts();
  if (args.length !== 1 || !/\d+ B/.test(args[0])) fail(`arguments: ${args.join(' | ')}`);
  if (!(await page.locator('#detail-timeline rect').count())) fail('no timeline slice');
  await page.locator('#detail').screenshot({ path: shots('task-detail') });

  // Actor keeper's page, from the actors table.
  await page.goto(`${info.dashboard}#actors`);
  await page.locator('#actors-table a', { hasText: 'keeper' }).click();
  await until(page, () => document.querySelector('#detail-logs').textContent
    .includes('keeper stored 5'));
  const fields = await page.locator('#detail-fields tbody').innerText();
  if (!fields.includes('ALIVE') || !fields.includes(info.worker))
    fail(`actor keeper's fields: ${fields}`);
  // Its state history: created, then alive (the actor core's record).
  const actorHistory = await page.locator('#detail-history tbody tr').allInnerTexts();
  if (actorHistory.length !== 2 || !actorHistory[0].startsWith('PENDING_CREATION')
      || !actorHistory[1].startsWith('ALIVE'))
    fail(`actor keeper's state history: ${actorHistory.join(' | ')}`);
  // Its slice of the timeline: the runs of its three calls (and nothing the
  // worker ran besides) on the worker's threads, each a slice of the head's
  // trace with keeper's name; a run links to its call's page.
  await until(page, () => document.querySelectorAll('#detail-actor-timeline rect.run').length >= 3);
  const runs = await page.evaluate(() => [...document.querySelectorAll('#detail-actor-timeline rect.run')]
    .map((r) => ({ id: r.dataset.id, title: r.querySelector('title').textContent })));
  const trace = await page.evaluate(async () => (await (await fetch('/api/timeline')).json())
    .traceEvents.filter((e) => e.ph === 'X' && e.args.actor === "keeper 'keeper'")
    .map((e) => e.args.id));
  if (runs.length !== 3 || runs.some((r) => !r.title.startsWith('keeper.store ')))
    fail(`actor keeper's runs: ${JSON.stringify(runs)}`);
  if (runs.some((r) => !trace.includes(r.id)))
    fail(`runs ${JSON.stringify(runs)} are not keeper's slices ${trace} of the trace`);
  const runRows = await page.locator('#detail-actor-timeline text.row-label').allTextContents();
  if (!runRows.length || runRows.some((l) => !l.startsWith(`${info.worker} executor-`)))
    fail(`actor keeper's timeline rows: ${runRows.join(' | ')}`);
  if (!(await page.locator('#detail-actor-timeline g.tick').count()))
    fail('actor keeper\'s timeline has no time axis');
  if (!(await page.locator('#detail-actor-runs').innerText()).startsWith('3 runs'))
    fail(`actor keeper's runs read: ${await page.locator('#detail-actor-runs').innerText()}`);
  await page.locator('#detail').screenshot({ path: shots('actor-detail') });
  await page.locator(`#detail-actor-timeline a[href="#/task/${runs[0].id}"]`).click();
  await until(page, (id) => document.querySelector('#detail-title').textContent
    .includes(`keeper.store (${id})`), runs[0].id);
}
