#!/usr/bin/env node
// Renders Adaptive Cards in Microsoft's `adaptivecards` renderer inside headless Chromium.
//
//   node tests/render/render.mjs CARDS_DIR OUT_DIR [SCENARIOS_JSON]
//
// For each CARDS_DIR/<name>.json: parse it (target version 1.3), collect the renderer's parse and
// validation events, render it, and screenshot the card as OUT_DIR/<name>.png. SCENARIOS_JSON, if
// given, is a list of {"name", "card", "steps"} where each step is one of
//   {"fill": [inputId, value]}     type into a text input (date/time inputs: set the value like a picker)
//   {"choose": [inputId, value]}   pick the choice with this value in a choice set
//   {"toggle": [inputId, on]}      check or uncheck a toggle
//   {"click": actionTitle}         click the action's button and record what the renderer submits
// Everything goes to OUT_DIR/results.json. Exit status 0 means the renderer ran (whatever it found);
// 2 means it could not run (the message says what to install).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const require = createRequire(join(root, "package.json"));
const CARD_WIDTH = 500;
const FONT = "'Helvetica Neue', Helvetica, Arial, 'Liberation Sans', sans-serif"; // as page.js's HostConfig
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

function die(message) {
  process.stderr.write(message + "\n");
  process.exit(2);
}

// a file a package ships, found in the project's node_modules (package "exports" maps hide some of them)
function packageFile(name, file) {
  const path = join(root, "node_modules", name, file);
  return existsSync(path) ? path : die(`${name} is missing (${path}): run \`npm ci\` in ${root}`);
}

const [cardsDir, outDir, scenariosFile] = process.argv.slice(2);
if (!cardsDir || !outDir) {
  die("usage: node tests/render/render.mjs CARDS_DIR OUT_DIR [SCENARIOS_JSON]");
}
if (!existsSync(CHROMIUM)) {
  die(`Chromium is missing at ${CHROMIUM}: run \`apt-get install chromium\``);
}
const scripts = {
  markdownIt: packageFile("markdown-it", "dist/browser/markdown-it.umd.min.js"),
  adaptiveCards: packageFile("adaptivecards", "dist/adaptivecards.min.js"),
  css: packageFile("adaptivecards", "dist/adaptivecards.css"),
};
let chromium;
try {
  packageFile("playwright-core", "package.json");
  ({ chromium } = require("playwright-core"));
} catch (error) {
  die(`playwright-core does not load (${error.message}): run \`npm ci\` in ${root}`);
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cards</title>
<style>
  html, body { margin: 0; background: #F2F2F2; }
  #card, #card .ac-input, #card .ac-pushButton { font-family: ${FONT}; }
  #frame { display: inline-block; padding: 12px; }
  #card { width: ${CARD_WIDTH}px; background: #FFFFFF; border: 1px solid #DEDEDE; border-radius: 8px; overflow: hidden; }
  #card .ac-pushButton { border-radius: 16px; border: 1px solid #0A78CC; color: #0A78CC;
    background: #FFFFFF; padding: 5px 14px; font-weight: 600; }
  #card .ac-pushButton:first-of-type { background: #0A78CC; color: #FFFFFF; }
  #card .ac-input { font-size: 14px; color: #121212; }
  #card .ac-textInput, #card .ac-dateInput, #card .ac-timeInput { border: 1px solid #B2B2B2; border-radius: 6px;
    padding: 5px 8px; min-height: 20px; }
  #card textarea.ac-textInput { min-height: 56px; resize: none; }
  #card .ac-input-validation-failed { border-color: #D4371C !important; }
</style></head>
<body><div id="frame"><div id="card"></div></div></body></html>`;

const cardFiles = readdirSync(cardsDir).filter((f) => f.endsWith(".json")).sort();
const scenarios = scenariosFile ? JSON.parse(readFileSync(scenariosFile, "utf8")) : [];
mkdirSync(outDir, { recursive: true });

const results = {
  versions: {
    adaptivecards: JSON.parse(readFileSync(packageFile("adaptivecards", "package.json"), "utf8")).version,
    "playwright-core": JSON.parse(readFileSync(packageFile("playwright-core", "package.json"), "utf8")).version,
  },
  cards: {},
  scenarios: {},
};

const profile = mkdtempSync(join(tmpdir(), "render-cards-profile-"));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: CARD_WIDTH + 100, height: 900 },
    deviceScaleFactor: 1,
    // date and time inputs show Chromium's UI locale (Debian's package ships en-US only: 12/04/2026, 11:59 PM);
    // what they submit is ISO (2026-12-04, 23:59) whatever they show
    locale: "en-US",
    timezoneId: "Europe/Berlin",
    offline: true,
    timeout: 30_000,
  });
} catch (error) {
  rmSync(profile, { recursive: true, force: true });
  die(`Chromium at ${CHROMIUM} did not start: ${error.message.split("\n")[0]}`);
}

try {
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") pageErrors.push(message.text());
  });
  await page.setContent(PAGE);
  await page.addStyleTag({ path: scripts.css });
  await page.addScriptTag({ path: scripts.markdownIt });
  await page.addScriptTag({ path: scripts.adaptiveCards });
  await page.addScriptTag({ path: join(here, "page.js") });
  results.versions.chromium = await page.evaluate(() => navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? "");
  const cardBox = page.locator("#card");

  async function render(json) {
    const report = await page.evaluate((card) => window.cardHarness.render(card), json);
    await page.evaluate(() => document.fonts.ready);
    return report;
  }

  const cards = {};
  for (const file of cardFiles) {
    const name = basename(file, ".json");
    cards[name] = JSON.parse(readFileSync(join(cardsDir, file), "utf8"));
    pageErrors.length = 0;
    const report = await render(cards[name]);
    const screenshot = join(outDir, `${name}.png`);
    await cardBox.screenshot({ path: screenshot, animations: "disabled", caret: "hide" });
    results.cards[name] = { ...report, pageErrors: [...pageErrors], screenshot };
  }

  for (const scenario of scenarios) {
    const outcome = { card: scenario.card, steps: [], error: null };
    results.scenarios[scenario.name] = outcome;
    if (!cards[scenario.card]) {
      outcome.error = `no card named ${scenario.card}`;
      continue;
    }
    pageErrors.length = 0;
    await render(cards[scenario.card]);
    try {
      for (const step of scenario.steps) {
        outcome.steps.push(await perform(page, step));
      }
    } catch (error) {
      outcome.error = error.message.split("\n")[0];
    }
    outcome.pageErrors = [...pageErrors];
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

writeFileSync(join(outDir, "results.json"), JSON.stringify(results, null, 2) + "\n");
process.stdout.write(`rendered ${cardFiles.length} cards and ${scenarios.length} scenarios into ${outDir}\n`);

async function perform(page, step) {
  const input = (id) => page.locator(`#card [data-input-id="${id}"]`);
  if (step.fill) {
    const [id, value] = step.fill;
    const control = input(id).locator("input, textarea").first();
    const type = await control.evaluate((el) => (el.tagName === "TEXTAREA" ? "textarea" : el.type));
    if (type === "date" || type === "time") {
      await control.fill(value); // what a date/time picker does: set the whole value at once
    } else {
      await control.fill("");
      await control.pressSequentially(value); // key by key, as a person types
    }
    return { fill: [id, value], value: await control.inputValue() };
  }
  if (step.choose) {
    const [id, value] = step.choose;
    const select = input(id).locator("select");
    if (await select.count()) {
      await select.selectOption(value);
    } else {
      await input(id).locator(`input[value="${value}"]`).check();
    }
    return { choose: [id, value] };
  }
  if (step.toggle) {
    const [id, on] = step.toggle;
    await input(id).locator("input[type=checkbox]").setChecked(Boolean(on));
    return { toggle: [id, Boolean(on)] };
  }
  if (step.click) {
    await page.locator(`#card button[data-action-title="${step.click}"]`).click();
    const taken = await page.evaluate(() => window.cardHarness.takeSubmissions());
    return { click: step.click, ...taken };
  }
  throw new Error(`unknown step ${JSON.stringify(step)}`);
}
