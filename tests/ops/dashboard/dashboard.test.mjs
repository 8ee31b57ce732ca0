// Ops.Dashboard: the ops dashboard page of debtor-query in a real browser (Debian's chromium,
// driven by playwright-core), on a stack that ran the walkthrough. tests/ops/dashboard_test.sh
// starts the stack and runs this with:
//   DASHBOARD_URL   debtor-query's HTTP base URL (DEBTOR_QUERY_HTTP of stack.env)
//   DASHBOARD_TOKEN a viewer's bearer token (the stack's tokens/viewer.jwt); none for a stack
//                   started --insecure. Over HTTPS node must trust the stack's CA
//                   (NODE_EXTRA_CA_CERTS); chromium is told to accept the dev CA's certificate.
//   BOCTL           build/tools/boctl/boctl (BO_STACK_ENV tells it where the stack is)
//   BRANCH          a branch of this run's walkthrough, to filter by (NORTH-<run>)
//   SCREENSHOTS     folder for the full-page screenshots (<build>/dashboard)
//   CHROMIUM        the browser [/usr/bin/chromium]
// What the page shows (the text a person reads, and the tiles' data-value) is checked against
// the debtor-query gRPC API (boctl --json) and, for lost sales, the LostSaleRecorded events on
// Kafka (boctl events tail; the gRPC API has no lost-sales call): the six tiles and every
// ready-to-invoice row for all branches, then again after choosing BRANCH in the filter; every
// service is listed ready with no lag; the page refreshes by itself; it loads nothing from
// another origin (it must work without internet) and logs no error. The test ids are those of
// docs/dashboard-api.md. Exits 1 listing every difference.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const BASE = env('DASHBOARD_URL').replace(/\/$/, '');
const TOKEN = env('DASHBOARD_TOKEN', '');
const BOCTL = env('BOCTL');
const BRANCH = env('BRANCH');
const SHOTS = env('SCREENSHOTS');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const TIMEOUT_MS = 20000;
const OPEN_STATES = ['OPEN', 'ON_ORDER', 'PARTLY_FILLED', 'FILLED'];
const SERVICES = ['invoicing', 'purchasing', 'receiving', 'debtor-query'];

const problems = [];
const problem = (msg) => {
  problems.push(msg);
  console.log(`  PROBLEM: ${msg}`);
};
const say = (msg) => console.log(`dashboard test: ${msg}`);

// ---- what the API says ---------------------------------------------------------------------

const boctl = (...args) => JSON.parse(execFileSync(BOCTL, ['--json', ...args], { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] }));
const stateName = (s) => String(s ?? '').toUpperCase().replace(/^BACKORDER_STATE_/, '');
const seconds = (t) => Date.parse(t) / 1000; // ms precision is enough for whole seconds
const average = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

// The figures of the tiles and the ready rows, from the gRPC API, for one branch or all ('').
function expected(branch, lostByBranch) {
  const b = branch ? ['--branch', branch] : [];
  const rows = [];
  for (const inv of boctl('backorder', 'ready', ...b).invoices ?? []) {
    const d = inv.debtor ?? {};
    for (const line of inv.lines ?? []) {
      rows.push({
        branch_id: inv.branchId,
        debtor_id: d.debtorId ?? '',
        debtor_name: d.name || null,
        contact_name: d.contactName || null,
        phone: d.phone || null,
        invoice_id: inv.invoiceId,
        invoice_line: String(line.invoiceLine ?? 0),
        backorder_id: line.backorderId,
        part_number: line.partNumber,
        quantity_ready: String(Number(line.quantityReady ?? 0)),
        quantity_waiting: Number(line.quantityWaiting ?? 0) > 0 ? String(Number(line.quantityWaiting)) : null,
      });
    }
  }
  const byState = Object.fromEntries(OPEN_STATES.map((s) => [s, 0]));
  let backOrdered = 0;
  let filled = 0;
  const fillSeconds = [];
  const invoiceSeconds = [];
  let token = '';
  do {
    const page = boctl('backorder', 'list', ...b, '--page-size', '1000', ...(token ? ['--page-token', token] : []));
    for (const bo of page.backorders ?? []) {
      const st = stateName(bo.state);
      if (OPEN_STATES.includes(st)) byState[st] += 1;
      if (st === 'CANCELLED') continue; // a cancelled back order counts in no rate or lead time
      // Lead times in whole seconds, a negative one (clocks of two services) as 0: docs/dashboard-api.md.
      const q = bo.quantities ?? {};
      backOrdered += Number(q.backOrdered ?? 0);
      filled += Number(q.filled ?? 0);
      if (Number(q.filled ?? 0) >= Number(q.backOrdered ?? 0) && bo.filledAt) {
        fillSeconds.push(Math.max(0, Math.trunc(seconds(bo.filledAt) - seconds(bo.createdAt))));
      }
      if (st === 'INVOICED' && bo.invoicedAt) {
        invoiceSeconds.push(Math.max(0, Math.trunc(seconds(bo.invoicedAt) - seconds(bo.createdAt))));
      }
    }
    token = page.nextPageToken ?? '';
  } while (token);
  let lostLines = 0;
  let lostQuantity = 0;
  for (const [br, [n, q]] of Object.entries(lostByBranch)) {
    if (!branch || br === branch) {
      lostLines += n;
      lostQuantity += q;
    }
  }
  const fillDays = average(fillSeconds);
  const invoiceDays = average(invoiceSeconds);
  return {
    ready: rows.length,
    readyQuantity: rows.reduce((a, r) => a + Number(r.quantity_ready), 0),
    open: Object.values(byState).reduce((a, n) => a + n, 0),
    byState,
    fillRate: backOrdered > 0 ? filled / backOrdered : null,
    filled,
    backOrdered,
    daysToFill: fillDays === null ? null : fillDays / 86400,
    daysToInvoice: invoiceDays === null ? null : invoiceDays / 86400,
    lostLines,
    lostQuantity,
    rows,
  };
}

// LostSaleRecorded events on Kafka: {branch: [count, quantity]}.
function lostSalesOnKafka() {
  const out = execFileSync(BOCTL, ['--json', 'events', 'tail', '--from-beginning', '--idle-exit', '3',
    '--type', 'LostSaleRecorded'], { encoding: 'utf8', timeout: 120000, stdio: ['ignore', 'pipe', 'pipe'] });
  const lost = {};
  for (const line of out.split('\n').filter(Boolean)) {
    const ev = JSON.parse(line).event;
    const br = ev.lostSaleRecorded?.branchId ?? ev.branchId;
    const [n, q] = lost[br] ?? [0, 0];
    lost[br] = [n + 1, q + Number(ev.lostSaleRecorded?.quantity ?? 0)];
  }
  return lost;
}

// ---- what the page shows -------------------------------------------------------------------

const numbersIn = (text) => (text.replace(/,/g, '').match(/-?\d+(\.\d+)?/g) ?? []).map(Number);
const decimalsOf = (text) => (text.replace(/,/g, '').match(/-?\d+(?:\.(\d+))?/)?.[1] ?? '').length;

// A tile: the text of its value and note, and its data-value.
async function tile(page, testid) {
  const t = page.getByTestId(testid);
  const n = await t.count();
  if (n !== 1) return { error: `${n} elements with data-testid=${testid}` };
  const text = (await t.locator('[data-field="value"]').innerText()).trim();
  const note = (await t.getByTestId('tile-note').innerText().catch(() => '')).trim();
  return { text, note, value: await t.getAttribute('data-value') };
}

async function readyRows(page) {
  return page.getByTestId('ready-row').evaluateAll((rows) => rows.map((r) => {
    const f = (name) => r.querySelector(`[data-field="${name}"]`)?.textContent.trim() ?? null;
    return {
      branch_id: f('branch_id'), debtor_id: f('debtor_id'), debtor_name: f('debtor_name'),
      contact_name: f('contact_name'), phone: f('phone'), invoice_id: f('invoice_id'),
      invoice_line: f('invoice_line'), backorder_id: f('backorder_id'), part_number: f('part_number'),
      quantity_ready: f('quantity_ready'), quantity_waiting: f('quantity_waiting'),
    };
  }));
}

const rowText = (r) => Object.entries(r).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`).join(' ');

// Whether the page shows `want`; the differences as sentences, and a summary of what it shows.
async function differences(page, want, scope) {
  const diffs = [];
  const bad = (what, shown, should) => diffs.push(`${scope}: ${what} shows ${JSON.stringify(shown)}, the API says ${should}`);
  if ((await page.getByTestId('dashboard').getAttribute('data-loaded')) !== 'true') {
    return { diffs: [`${scope}: the page has not loaded its data (data-loaded is not true)`], shown: {} };
  }
  const tiles = {};
  for (const id of ['tile-ready', 'tile-open', 'tile-fill-rate', 'tile-days-to-fill', 'tile-days-to-invoice', 'tile-lost-sales']) {
    tiles[id] = await tile(page, id);
    if (tiles[id].error) diffs.push(`${scope}: ${tiles[id].error}`);
  }
  if (diffs.length) return { diffs, shown: {} };
  // Counts: the number shown, its data-value, and the note's numbers.
  const count = (id, n, note, noteWant) => {
    const t = tiles[id];
    if (numbersIn(t.text)[0] !== n || numbersIn(t.text).length !== 1) bad(id, t.text, n);
    if (Number(t.value) !== n) bad(`${id} data-value`, t.value, n);
    if (note && JSON.stringify(numbersIn(t.note)) !== JSON.stringify(noteWant)) bad(`${id} note`, t.note, noteWant.join(', '));
  };
  count('tile-ready', want.ready, true, [want.readyQuantity]);
  count('tile-open', want.open, true, OPEN_STATES.map((s) => want.byState[s]));
  count('tile-lost-sales', want.lostLines, true, [want.lostQuantity]);
  // Ratios and averages: equal to the API's to the decimals shown (half a unit of the last one).
  const close = (id, w, scale, note) => {
    const t = tiles[id];
    if (w === null) {
      if (numbersIn(t.text).length) bad(id, t.text, 'nothing to show');
      return;
    }
    const shown = numbersIn(t.text)[0];
    if (shown === undefined || Math.abs(shown - w * scale) > 0.5 * 10 ** -decimalsOf(t.text) + 1e-9) bad(id, t.text, (w * scale).toFixed(4));
    if (t.value === null || t.value === '' || Math.abs(Number(t.value) - w) > 0.006) bad(`${id} data-value`, t.value, w.toFixed(4));
    if (note && JSON.stringify(numbersIn(t.note)) !== JSON.stringify(note)) bad(`${id} note`, t.note, note.join(' of '));
  };
  close('tile-fill-rate', want.fillRate, 100, [want.filled, want.backOrdered]);
  if (want.fillRate !== null && !tiles['tile-fill-rate'].text.includes('%')) bad('tile-fill-rate', tiles['tile-fill-rate'].text, 'a percentage');
  close('tile-days-to-fill', want.daysToFill, 1);
  close('tile-days-to-invoice', want.daysToInvoice, 1);

  const rows = (await readyRows(page)).map(rowText).sort();
  const wantRows = want.rows.map(rowText).sort();
  const missing = wantRows.filter((r) => !rows.includes(r));
  const extra = rows.filter((r) => !wantRows.includes(r));
  if (missing.length || extra.length || rows.length !== wantRows.length) {
    diffs.push(`${scope}: the ready-to-invoice rows differ from the API's (${rows.length} shown, ${wantRows.length} listed)` +
      (missing.length ? `; not shown: ${missing.slice(0, 3).join(' | ')}` : '') +
      (extra.length ? `; shown but not listed: ${extra.slice(0, 3).join(' | ')}` : ''));
  }
  return {
    diffs,
    shown: `ready ${tiles['tile-ready'].text}, open ${tiles['tile-open'].text}, fill rate ${tiles['tile-fill-rate'].text}, ` +
      `days to fill ${tiles['tile-days-to-fill'].text}, to invoice ${tiles['tile-days-to-invoice'].text}, ` +
      `lost sales ${tiles['tile-lost-sales'].text}, ${rows.length} ready rows`,
  };
}

// Polls until the page shows `want` (it loads and refreshes its data by itself), then reports.
async function expectShows(page, want, scope) {
  const deadline = Date.now() + TIMEOUT_MS;
  let last;
  for (;;) {
    last = await differences(page, want, scope);
    if (!last.diffs.length || Date.now() > deadline) break;
    await page.waitForTimeout(250);
  }
  for (const d of last.diffs) problem(d);
  if (!last.diffs.length) say(`${scope}: ${last.shown}: as the API says`);
}

// Every service is listed, ready, with no consumer lag and an empty outbox (the stack is idle
// after the walkthrough; polled, as the page refreshes every 10 s).
async function checkServices(page) {
  const deadline = Date.now() + TIMEOUT_MS;
  let issues;
  let rows;
  for (;;) {
    rows = await page.getByTestId('service-row').evaluateAll((trs) => trs.map((tr) => ({
      service: tr.getAttribute('data-service'),
      state: tr.getAttribute('data-state'),
      lag: tr.querySelector('[data-field="lag"]')?.textContent.trim(),
      outbox: tr.querySelector('[data-field="outbox_depth"]')?.textContent.trim(),
    })));
    issues = [];
    const names = rows.map((r) => r.service).sort();
    if (JSON.stringify(names) !== JSON.stringify([...SERVICES].sort())) issues.push(`the services table lists ${names.join(', ')}, want the four services`);
    for (const r of rows) {
      if (r.state !== 'ready' || r.lag !== '0' || r.outbox !== '0') issues.push(`service ${r.service} shows state ${r.state}, lag ${r.lag}, outbox ${r.outbox} on an idle stack (want ready, 0, 0)`);
    }
    if (!issues.length || Date.now() > deadline) break;
    await page.waitForTimeout(500);
  }
  for (const i of issues) problem(i);
  if (!issues.length) say(`services: ${rows.map((r) => `${r.service} ${r.state} lag ${r.lag}`).join(', ')}`);
}

// ---- the test ------------------------------------------------------------------------------

mkdirSync(SHOTS, { recursive: true });
const lostByBranch = lostSalesOnKafka();
const wantAll = expected('', lostByBranch);
const wantBranch = expected(BRANCH, lostByBranch);
if (!wantBranch.rows.length) problem(`the API lists nothing ready to invoice at ${BRANCH}: did the walkthrough run?`);

// The guard of the HTTPS side: the data needs a token (the page itself holds none).
if (TOKEN) {
  const none = await fetch(`${BASE}/api/v1/dashboard`);
  if (none.status !== 401) problem(`/api/v1/dashboard without a token answered ${none.status}, not 401`);
  const forged = await fetch(`${BASE}/api/v1/dashboard`, { headers: { Authorization: `Bearer ${TOKEN}x` } });
  if (forged.status !== 401) problem(`/api/v1/dashboard with an altered token answered ${forged.status}, not 401`);
  const page = await fetch(`${BASE}/`);
  if (page.status !== 200) problem(`the page itself (no data) answered ${page.status} without a token`);
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
let page;
try {
  // A wall screen: 1600 x 1000 CSS pixels.
  // ignoreHTTPSErrors: the development CA is not in chromium's store (node checks it above).
  const context = await browser.newContext({
    viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1, ignoreHTTPSErrors: BASE.startsWith('https:'),
  });
  page = await context.newPage();
  const base = new URL(BASE);
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== base.origin) {
      problem(`the page loads ${req.url()} from another origin (it must work without internet)`);
    }
  });
  page.on('console', (msg) => { if (msg.type() === 'error') problem(`console error: ${msg.text()}`); });
  page.on('pageerror', (err) => problem(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problem(`request failed: ${req.url()} (${req.failure()?.errorText})`));

  // The token in the fragment: the page keeps it for the tab and takes it out of the address.
  const resp = await page.goto(`${BASE}/` + (TOKEN ? `#token=${TOKEN}` : ''), { waitUntil: 'load' });
  if (!resp || resp.status() !== 200) problem(`GET ${BASE}/ answered ${resp?.status()}`);
  await expectShows(page, wantAll, 'all branches');
  await checkServices(page);
  await page.screenshot({ path: path.join(SHOTS, 'all-branches.png'), fullPage: true });

  const filter = page.locator('select#branch-filter');
  if ((await filter.count()) !== 1) {
    problem('no <select id="branch-filter">');
  } else {
    const options = await filter.locator('option').evaluateAll((os) => os.map((o) => o.value));
    if (!options.includes(BRANCH)) {
      problem(`the branch filter does not offer ${BRANCH} (it offers ${options.join(', ')})`);
    } else {
      await filter.selectOption(BRANCH);
      await expectShows(page, wantBranch, `branch ${BRANCH}`);
      const shownBranches = [...new Set((await readyRows(page)).map((r) => r.branch_id))];
      if (shownBranches.some((b) => b !== BRANCH)) problem(`with ${BRANCH} chosen the page still lists rows of ${shownBranches.join(', ')}`);
      await page.screenshot({ path: path.join(SHOTS, 'branch.png'), fullPage: true });

      // It refreshes by itself (docs/dashboard-api.md: every 10 s), keeping the branch.
      const root = page.getByTestId('dashboard');
      const before = await root.getAttribute('data-generated-at');
      const deadline = Date.now() + 15000;
      while ((await root.getAttribute('data-generated-at')) === before && Date.now() < deadline) await page.waitForTimeout(250);
      if ((await root.getAttribute('data-generated-at')) === before) problem('the page did not refresh its data within 15 s');
      else if ((await root.getAttribute('data-branch')) !== BRANCH) problem(`after refreshing, the page shows branch ${await root.getAttribute('data-branch')}`);
      else await expectShows(page, wantBranch, `branch ${BRANCH}, refreshed`);
    }
  }
} catch (e) {
  problem(`${e.message.split('\n')[0]}`);
} finally {
  if (problems.length && page) await page.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
  await browser.close();
}

if (problems.length) {
  console.log(`dashboard test: FAILED (${problems.length} problems; screenshots in ${SHOTS})`);
  for (const p of problems) console.log(`  - ${p}`);
  process.exit(1);
}
say(`ok (chromium ${browser.version()}; screenshots ${path.join(SHOTS, 'all-branches.png')}, ${path.join(SHOTS, 'branch.png')})`);
