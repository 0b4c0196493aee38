#!/usr/bin/env node
// Drives the demo's sandbox page in headless Chromium, the way a person would:
//
//   node tests/demo/demo.mjs SANDBOX_URL OUT_DIR
//
// Alice asks "intercept me until Friday", fills the form (announce a new number, a reason) and
// sends it; Bob approves on his card; the side panel shows Alice's intercept on; "Make the end due
// now" brings the revert; the panel shows her settings as they were. Screenshots at each step go to
// OUT_DIR/<nn>-<step>.png, and OUT_DIR/results.json says what was seen (the pytest side checks it).
// Exit 0: the story ran to its end; 1: a step failed (results.json has the step and the error);
// 2: the browser could not run (the message says what to install).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const require = createRequire(join(root, "package.json"));
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const CHROMIUM_ARGS = [ // as tests/render/render.mjs
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const WAIT = 20_000;
const NEW_NUMBER = "+49 30 901820";
const REASON = "Parental leave; calls go to the team line";
const COMMENT = "Enjoy the time off";

function die(message) {
  process.stderr.write(message + "\n");
  process.exit(2);
}

const [url, outDir] = process.argv.slice(2);
if (!url || !outDir) die("usage: node tests/demo/demo.mjs SANDBOX_URL OUT_DIR");
if (!existsSync(CHROMIUM)) die(`Chromium is missing at ${CHROMIUM}: run \`apt-get install chromium\``);
let chromium;
try {
  ({ chromium } = require("playwright-core"));
} catch (error) {
  die(`playwright-core does not load (${error.message.split("\n")[0]}): run \`npm ci\` in ${root}`);
}
mkdirSync(outDir, { recursive: true });

const results = { steps: [], screenshots: [], pageErrors: [], failedRequests: [], error: null, seen: {} };
const started = Date.now();
const profile = mkdtempSync(join(tmpdir(), "demo-profile-"));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1,
    locale: "en-US", timezoneId: "Europe/Berlin", timeout: 30_000,
  });
} catch (error) {
  rmSync(profile, { recursive: true, force: true });
  die(`Chromium at ${CHROMIUM} did not start: ${error.message.split("\n")[0]}`);
}

let page;
let shot = 0;
async function screenshot(name) {
  shot += 1;
  const path = join(outDir, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.evaluate(() => document.fonts.ready);
  await page.waitForTimeout(1300); // let the "just arrived" highlights fade
  await page.screenshot({ path, animations: "disabled", caret: "hide" });
  results.screenshots.push(path);
}

async function step(name, action) {
  const at = Date.now();
  try {
    await action();
    results.steps.push({ name, ms: Date.now() - at });
  } catch (error) {
    results.steps.push({ name, ms: Date.now() - at, error: error.message.split("\n")[0] });
    throw new Error(`step "${name}": ${error.message.split("\n")[0]}`);
  }
}

const chat = () => page.locator(".messages:not([hidden])");
const botCard = (input) => chat().locator(`.msg[data-author="bot"] .card:has([data-input-id="${input}"])`).last();
const botCardWithButton = (title) => chat().locator(`.msg[data-author="bot"] .card:has([data-action-title="${title}"])`).last();
const intercept = (email) => page.locator(`[data-intercept="${email}"]`);

async function be(email) {
  await page.locator(`#people [data-person="${email}"]`).click();
  await page.locator(`#people [data-person="${email}"][aria-pressed="true"]`).waitFor();
  await page.locator('#room-list [data-room="direct"]').click();
}

async function say(text) {
  await page.locator("#text").fill(text);
  await page.locator("#send").click();
  await chat().locator(".msg:not([data-author=\"bot\"])").filter({ hasText: text }).last().waitFor();
}

try {
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(WAIT);
  page.on("pageerror", (error) => results.pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") results.pageErrors.push(message.text());
  });
  page.on("response", (response) => {
    if (response.status() >= 400) results.failedRequests.push(`${response.request().method()} ${response.url()} ${response.status()}`);
  });

  await step("open the sandbox as Alice", async () => {
    await page.goto(url + "#as=alice%40example.com");
    await page.locator("body[data-ready=true]").waitFor();
    await page.locator('#people [data-person="alice@example.com"][aria-pressed="true"]').waitFor();
    results.seen.aliceBefore = await intercept("alice@example.com").getAttribute("data-enabled");
  });

  await step("Alice asks for an intercept", async () => {
    await say("intercept me until Friday");
    const form = botCard("until.date");
    await form.waitFor();
    results.seen.untilDate = await form.locator('[data-input-id="until.date"] input').inputValue();
    await form.evaluate((card) => card.closest(".msg").scrollIntoView({ block: "start" }));
    await screenshot("alice-form");
  });

  await step("Alice fills the form and sends it", async () => {
    const form = botCard("until.date");
    await form.locator('[data-input-id="incoming.announcements.newNumber.enabled"] input[type=checkbox]').check();
    await form.locator('[data-input-id="incoming.announcements.newNumber.destination"] input').fill(NEW_NUMBER);
    await form.locator('[data-input-id="reason"] textarea, [data-input-id="reason"] input').first().fill(REASON);
    await form.locator('button[data-action-title="Send for approval"]').click();
    // the bot deletes the form (it disappears, as in Webex) and says it went to the approvers
    await chat().locator('.msg[data-author="bot"]').filter({ hasText: "Sent for approval" }).waitFor();
    await chat().locator('.card:has([data-input-id="until.date"])').waitFor({ state: "detached" });
    await page.locator('#requests [data-status="awaiting_approval"]').waitFor();
    await screenshot("alice-sent");
  });

  await step("Bob approves on his card", async () => {
    await be("bob@example.com");
    const card = botCardWithButton("Approve");
    await card.waitFor();
    results.seen.approvalText = (await card.innerText()).replace(/\s+/g, " ").slice(0, 400);
    await card.locator('[data-input-id="comment"] textarea, [data-input-id="comment"] input').first().fill(COMMENT);
    await screenshot("bob-approval");
    await card.locator('button[data-action-title="Approve"]').click();
    await page.locator('[data-intercept="alice@example.com"][data-enabled="true"]').waitFor();
    await chat().locator('.card:has([data-action-title="Approve"])').waitFor({ state: "detached" });
  });

  await step("Alice's intercept is on", async () => {
    await be("alice@example.com");
    await page.locator('#requests [data-status="active"]').waitFor();
    results.seen.aliceActive = (await intercept("alice@example.com").innerText()).replace(/\s+/g, " ");
    await chat().locator('.msg[data-author="bot"]').filter({ hasText: "now intercepted" }).last().waitFor();
    await screenshot("alice-active");
  });

  await step("the end comes and the settings are restored", async () => {
    await page.locator('#requests [data-status="active"] button[data-due]').click();
    await page.locator('[data-intercept="alice@example.com"][data-enabled="false"]').waitFor();
    await page.locator('#requests [data-status="reverted"]').waitFor();
    results.seen.aliceAfter = (await intercept("alice@example.com").innerText()).replace(/\s+/g, " ");
    results.seen.clock = await page.locator("#clock-offset").innerText();
    await screenshot("alice-restored");
  });
} catch (error) {
  results.error = error.message.split("\n")[0];
  if (page) {
    try {
      await page.screenshot({ path: join(outDir, "failure.png") });
      results.screenshots.push(join(outDir, "failure.png"));
    } catch { /* the page is gone */ }
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
results.ms = Date.now() - started;
writeFileSync(join(outDir, "results.json"), JSON.stringify(results, null, 2) + "\n");
process.stdout.write(`${results.error ? "FAILED: " + results.error : "ok"} in ${results.ms} ms\n`);
process.exit(results.error ? 1 : 0);
