// The dashboard's jobs and placement groups views as a browser sees them
// (used by dashboard_test.mjs). On the head's page (tests/observed_cluster):
// the driver's job is RUNNING on the driver's node, its link filters the
// tasks view to that job's tasks, and the placement groups view lists the
// driver's group "observed" with its bundle on the worker. On a node's page (tests/observed_node): its placement
// group "observed" (STRICT_PACK, one bundle of half a CPU) is CREATED on the
// node, and the jobs view says the head keeps the jobs. A screenshot each.

const cells = async (row) => (await row.locator('td').allInnerTexts()).map((t) => t.trim());

export async function checkJobsAndGroups(page, fail, info, mode, shots) {
  await page.goto(`${info.dashboard}#jobs`);
  if (mode === 'cluster') {
    // info.driver reads "node-1 (pid 42)": the job names the node and pid.
    const [, driverNode, driverPid] = /^(\S+) \(pid (\d+)\)$/.exec(info.driver);
    const jobRow = page.locator('#jobs-table tbody tr', { hasText: `pid ${driverPid}` });
    await jobRow.waitFor({ timeout: 10000 });
    const job = await cells(jobRow); // job state entrypoint node driver started duration ended
    if (!/^job-\d{4}$/.test(job[0]) || job[1] !== 'RUNNING' || job[3] !== driverNode)
      fail(`the driver's job row reads: ${job.join(' | ')}`);
    await page.locator('#jobs').screenshot({ path: shots('jobs') });
    // Its link: the tasks view with only that job's tasks, the held one too.
    await jobRow.locator('a').first().click();
    await page.waitForFunction((id) => {
      const rows = [...document.querySelectorAll('#tasks-table tbody tr')];
      return document.querySelector('#task-job').value === id && rows.length > 0
        && rows.every((r) => r.children[6].innerText.trim() === id);
    }, job[0], { timeout: 10000 });
    if (!(await page.locator('#tasks-table tbody').innerText()).includes(info.held))
      fail(`the tasks of ${job[0]} lack the held task ${info.held}`);
    await page.selectOption('#task-job', '');
    // The head lists every driver's groups: the driver's "observed" sits
    // on the worker.
    const workerNode = info.worker.split(' ')[0];
    const groupRow = page.locator('#groups-table tbody tr', { hasText: 'observed' });
    await groupRow.waitFor({ timeout: 10000 });
    const group = await cells(groupRow); // id name strategy state bundles tasks actors
    if (group[2] !== 'PACK' || group[3] !== 'CREATED'
        || !group[4].startsWith(`#0: CPU 0.5 on ${workerNode}`))
      fail(`placement group observed's row on the head reads: ${group.join(' | ')}`);
    if ((await page.locator('#groups-note').innerText()) !== '')
      fail(`the head's placement groups view has a note: ${await page.locator('#groups-note').innerText()}`);
  } else {
    await page.waitForFunction(() => document.querySelector('#jobs-note').textContent
      .includes('kept by the head'), null, { timeout: 10000 });
    const groupRow = page.locator('#groups-table tbody tr', { hasText: 'observed' });
    await groupRow.waitFor({ timeout: 10000 });
    const group = await cells(groupRow); // id name strategy state bundles tasks actors
    if (group[2] !== 'STRICT_PACK' || group[3] !== 'CREATED'
        || !group[4].startsWith('#0: CPU 0.5'))
      fail(`placement group observed's row reads: ${group.join(' | ')}`);
    await page.locator('#placement-groups').screenshot({ path: shots('placement-groups') });
  }
}
