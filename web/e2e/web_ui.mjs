// SPDX-License-Identifier: Apache-2.0
//
// End-to-end test of the web UI: Playwright (playwright-core) drives Debian's Chromium, headless,
// against a real `shype web` and shyped (started by tests/integration/web_ui_test.sh with the
// demo policy, labeled disks and the configs bank1, mon1 and game1). No API is mocked.
// Usage: node web_ui.mjs URL-WITH-TOKEN; env SHYPE_SCREENSHOTS (a folder), CHROMIUM.
// Prints "ok - ..." / "FAIL - ..." per check and "N passed, M failed"; exits 1 on a failure.

import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { crossSiteChecks, raw, securityChecks } from "./security.mjs";

const startUrl = process.argv[2];
const shots = process.env.SHYPE_SCREENSHOTS ?? "";
let passed = 0;
let failed = 0;
const t = {
  check(cond, what) {
    if (cond) passed++;
    else failed++;
    console.log(`${cond ? "ok" : "FAIL"} - ${what}`);
    return cond;
  },
};

async function shot(page, name) {
  if (!shots) return;
  await page.waitForTimeout(150); // let the last render settle
  await page.screenshot({ path: `${shots}/${name}.png` });
}

/** Waits until `f` (run in the page) returns truthy; false after `ms`. */
async function until(page, f, arg, ms = 20000) {
  try {
    await page.waitForFunction(f, arg, { timeout: ms, polling: 200 });
    return true;
  } catch {
    return false;
  }
}

const text = (page, sel) => page.locator(sel).first().innerText({ timeout: 5000 }).catch(() => "");

async function view(page, name, title) {
  await page.getByRole("link", { name, exact: true }).click();
  await page.locator("#view-title", { hasText: title }).waitFor({ timeout: 10000 });
}

async function domainsFlow(page) {
  await view(page, "Domains", "Domains");
  for (const name of ["bank1", "mon1"]) {
    await page.getByRole("button", { name: `Start ${name}` }).click();
    const up = await until(page, (n) => !!document.querySelector(`tr[data-domain="${n}"]`), name, 90000);
    t.check(up, `Start ${name} from its config: it is listed as a running domain`);
  }
  const bank = await text(page, 'tr[data-domain="bank1"]');
  t.check(/ACM:shype\.demo:Bank/.test(bank), `bank1's row shows its label: ${bank.replace(/\s+/g, " ")}`);
  t.check(/Bank/.test(bank) && /running|blocked/.test(bank), "... its state and types");
  await page.getByRole("button", { name: "Start game1" }).click();
  const note = page.locator('tr[data-config="game1.cfg"] .note.error-text');
  await note.waitFor({ timeout: 60000 }).catch(() => {});
  const why = await note.innerText().catch(() => "");
  t.check(/refused/.test(why), `Start game1 beside bank1 is refused, beside game1: ${why}`);
  t.check(/Game.*conflicts with.*Bank.*bank1/.test(why), "... the Chinese Wall's reason is shown");
  t.check(!(await page.locator('tr[data-domain="game1"]').count()), "... and game1 does not run");
  await shot(page, "domains");
}

async function editorErrorFlow(page) {
  await view(page, "Policy editor", "Policy editor");
  await page.locator("#f-ste-new").fill("Audit Trail");
  await page.getByRole("button", { name: "Add STE type" }).click();
  await page.getByRole("button", { name: "Validate" }).click();
  const invalid = page.locator('[aria-invalid="true"]');
  await invalid.first().waitFor({ timeout: 20000 }).catch(() => {});
  t.check((await invalid.count()) === 1, "Validate of a type name with a space marks one field invalid");
  const field = await page.evaluate(() => {
    const el = document.activeElement;
    const msg = document.getElementById(el?.getAttribute("aria-describedby") ?? "");
    return { value: el?.value, invalid: el?.getAttribute("aria-invalid"), msg: msg?.textContent ?? "" };
  });
  t.check(field.value === "Audit Trail" && field.invalid === "true", `... the new type's field, focused: ${JSON.stringify(field)}`);
  t.check(/^editor\.xml:\d+: Type: .*whitespace/.test(field.msg), `... the compiler's message beside it: ${field.msg}`);
  await shot(page, "editor-error");
  await page.keyboard.press("Control+A");
  await page.keyboard.type("AuditTrail");
  await page.getByRole("button", { name: "Validate" }).click();
  const valid = await until(page, () => /^Valid: /.test(document.getElementById("editor-status")?.textContent ?? ""));
  t.check(valid, `after the fix Validate passes: ${await text(page, "#editor-status")}`);
  t.check((await invalid.count()) === 0, "... and no field is marked invalid");
}

async function activateFlow(page) {
  // Monitor gains the STE type Bank: Monitor and Bank may share from now on.
  await page.getByRole("group", { name: "STE types of Monitor" }).getByLabel("Bank", { exact: true }).check();
  await page.getByRole("button", { name: "Save as new version" }).click();
  const saved = await until(page, () => /^Saved as version/.test(document.getElementById("editor-status")?.textContent ?? ""), null, 30000);
  t.check(saved, `Save as new version stores 1.1, not active: ${await text(page, "#editor-status")}`);
  const href = (await page.getByRole("link", { name: "Download XML" }).getAttribute("href")) ?? "";
  t.check(href.startsWith("blob:"), `Download XML is a Blob link (${href.slice(0, 12)}…)`);
  await page.getByRole("button", { name: "Activate" }).click();
  const done = await until(page, () => /^Activated/.test(document.getElementById("editor-status")?.textContent ?? ""), null, 30000);
  t.check(done, `Activate of version 1.1 succeeds: ${await text(page, "#editor-status")}`);
  t.check((await page.locator("#f-header-version").inputValue()) === "1.2", "... and the editor prepares 1.2");
  await view(page, "Share matrix", "Share matrix");
  const cell = page.locator('#vm-matrix td[data-row="Monitor"][data-col="Bank"]');
  const changed = await until(page, () =>
    /Bank/.test(document.querySelector('#vm-matrix td[data-row="Monitor"][data-col="Bank"]')?.textContent ?? ""),
  );
  t.check(changed, `the share matrix shows Monitor × Bank sharing Bank: ${await cell.innerText().catch(() => "")}`);
  const res = await text(page, '#resource-matrix td[data-row="Monitor"][data-col="res_Bank"]');
  t.check(/Bank/.test(res), `... and Monitor × res_Bank: ${res}`);
  await shot(page, "matrix");
}

async function refusedFlow(page) {
  await view(page, "Policy editor", "Policy editor");
  await page.getByRole("button", { name: "Remove label Bank", exact: true }).click();
  await page.getByRole("button", { name: "Remove label Monitor", exact: true }).click();
  await page.getByRole("button", { name: "Activate" }).click();
  const refused = await until(page, () => /^Activate failed/.test(document.getElementById("editor-status")?.textContent ?? ""), null, 30000);
  t.check(refused, `removing the labels of running bank1 and mon1: activation refused: ${await text(page, "#editor-status")}`);
  const items = await page.locator("#editor-status ul.violations li").allInnerTexts();
  t.check(items.length >= 2, `... every violation listed (${items.length}): ${items.join(" | ")}`);
  t.check(items.some((i) => /bank1/.test(i)) && items.some((i) => /mon1/.test(i)), "... naming bank1 and mon1");
  await shot(page, "activation-refused");
}

async function diffFlow(page) {
  await view(page, "Diff", "Diff");
  await page.locator("#diff-old").selectOption("active");
  await page.locator("#diff-new").selectOption("editor");
  await page.getByRole("button", { name: "Compare" }).click();
  await page.locator("#d-dry").waitFor({ timeout: 20000 }).catch(() => {});
  const removed = await text(page, '[aria-labelledby="d-rem"]');
  t.check(/VM label Bank/.test(removed) && /VM label Monitor/.test(removed), `the diff lists the removed labels: ${removed.replace(/\s+/g, " ")}`);
  const dry = await text(page, '[aria-labelledby="d-dry"]');
  t.check(/bank1/.test(dry) && /mon1/.test(dry), `... and the dry-run's violations: ${dry.replace(/\s+/g, " ")}`);
  t.check(/refused/.test(await text(page, "main p")), "... activating it would be refused");
  await shot(page, "diff");
}

async function otherViews(page) {
  await view(page, "Conflict graph", "Conflict graph");
  const row = await text(page, "#conflict-table tbody tr");
  t.check(/Bank\s+Game\s+Rivals/.test(row), `the conflict table: Bank, Game, Rivals: ${row}`);
  t.check((await page.locator("svg.graph .edge").count()) === 1, "... one edge in the graph");
  await shot(page, "conflicts");
  await view(page, "Resources", "Resources");
  const listed = await until(page, () =>
    /bank\.img[\s\S]*res_Bank/.test(document.getElementById("resources-table")?.textContent ?? ""),
  );
  t.check(listed, "the resources view lists bank.img as res_Bank");
  await shot(page, "resources");
  await view(page, "Audit", "Audit");
  const live = await until(page, () => !!document.querySelector("#audit-table tr.deny"), null, 20000);
  t.check(live, "the audit feed shows records, the denial of game1 among them");
  t.check((await text(page, "#audit-state")) === "live", "... over a live event stream");
  await shot(page, "audit");
}

async function keyboardAndNarrow(page) {
  await page.getByRole("link", { name: "Share matrix" }).focus();
  await page.keyboard.press("Enter");
  await page.locator("#view-title", { hasText: "Share matrix" }).waitFor({ timeout: 10000 });
  await until(page, () => document.activeElement?.id === "view-title", null, 5000);
  const focused = await page.evaluate(() => document.activeElement?.id);
  t.check(focused === "view-title", `a nav link works from the keyboard; the view's heading gets the focus (${focused})`);
  await page.setViewportSize({ width: 400, height: 800 });
  for (const [link, title] of [["Share matrix", "Share matrix"], ["Policy editor", "Policy editor"]]) {
    await view(page, link, title);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    t.check(width <= 400, `${title} at 400px wide: no horizontal page scrolling (${width}px)`);
  }
  await shot(page, "narrow");
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function stopFlow(page) {
  await view(page, "Domains", "Domains");
  await page.getByRole("button", { name: "Stop mon1" }).click();
  const gone = await until(page, () => !document.querySelector('tr[data-domain="mon1"]'), null, 30000);
  t.check(gone, "Stop mon1: it is no longer listed");
}

async function main() {
  if (shots) mkdirSync(shots, { recursive: true });
  const session = await securityChecks(t, startUrl);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && /Content Security Policy/.test(m.text()) && pageErrors.push(m.text()));
  try {
    await page.goto(startUrl);
    t.check(!/token=/.test(page.url()), `the token URL redirects to the UI (${page.url()})`);
    await page.locator("#h-ste").waitFor({ timeout: 20000 });
    const version = await page.locator("#f-header-version").inputValue();
    t.check(version === "1.1", `the editor loads the active shype.demo 1.0 as the next version (${version})`);
    await shot(page, "editor");
    await domainsFlow(page);
    await crossSiteChecks(t, context, startUrl, "mon1");
    const list = await raw(new URL(startUrl).origin, "GET", "/api/v1/domains", { Cookie: session.cookie });
    t.check(/"mon1"/.test(list.body), "mon1 still runs after the cross-site page's attempts");
    await editorErrorFlow(page);
    await activateFlow(page);
    await refusedFlow(page);
    await diffFlow(page);
    await otherViews(page);
    await keyboardAndNarrow(page);
    await stopFlow(page);
    t.check(pageErrors.length === 0, `no script error or CSP violation in the page: ${pageErrors.join("; ")}`);
  } catch (e) {
    t.check(false, `the test stopped: ${e?.stack ?? e}`);
    await shot(page, "failure").catch(() => {});
  } finally {
    await browser.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
