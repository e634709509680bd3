// SPDX-License-Identifier: Apache-2.0
//
// The editor's policy model against the real compiler, in headless Chromium (the model parses
// with the browser's DOMParser): every project policy read into the model and written back
// compiles to the same policy (`shype policy dump` equal) and is a fixpoint; for compiler errors
// of the negative corpus, the message's line maps to the editor field of the fault.
// Usage: node model_test.mjs SHYPE-BINARY; env CHROMIUM. Prints "N passed, M failed".

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { build } from "vite";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const shype = process.argv[2];
let passed = 0;
let failed = 0;
const check = (cond, what) => {
  cond ? passed++ : failed++;
  console.log(`${cond ? "ok" : "FAIL"} - ${what}`);
};

/** The model's modules as one script defining `ShypeModel` (vite's library build, in memory). */
async function bundle() {
  const out = await build({
    root: path.resolve(here, ".."),
    logLevel: "warn",
    configFile: false,
    build: {
      write: false,
      lib: { entry: path.resolve(here, "model_entry.ts"), name: "ShypeModel", formats: ["iife"] },
    },
  });
  return [out].flat()[0].output[0].code;
}

const tmp = mkdtempSync(path.join(tmpdir(), "shype-model-"));
/** Compiles `xml` as editor.xml: {ok, dump} or {ok: false, message}. */
function compile(xml, name = "editor.xml") {
  const file = path.join(tmp, name);
  writeFileSync(file, xml);
  try {
    execFileSync(shype, ["policy", "compile", file, "-o", path.join(tmp, "p.bin")], { stdio: "pipe" });
    const dump = execFileSync(shype, ["policy", "dump", path.join(tmp, "p.bin")], { encoding: "utf8" });
    return { ok: true, dump };
  } catch (e) {
    return { ok: false, message: String(e.stderr ?? e) };
  }
}

// Negative cases whose fault the model keeps, and the field the error must land on.
const NEGATIVE = {
  "BAD_LABEL__undeclared_ste_type_in_vm_label.xml": /^vm\.\d+\.ste\.\d+$/,
  "BAD_LABEL__undeclared_chwall_type_in_vm_label.xml": /^vm\.\d+\.chwall\.\d+$/,
  "BAD_LABEL__undeclared_ste_type_in_resource_label.xml": /^res\.\d+\.type$/,
  "BAD_CONFLICTSET__undeclared_type.xml": /^cs\.\d+\.type\.\d+$/,
  "BAD_CONFLICTSET__empty_name.xml": /^cs\.\d+\.name$/,
  "BAD_LABEL__space_in_label_name.xml": /^(vm|res)\.\d+\.name$/,
  "BAD_LABEL__two_renames_from_same_label.xml": /^(vm|res)\.\d+\.from$/,
  "BAD_LABEL__colon_in_vm_label.xml": /^vm\.\d+\.name$/,
  "BAD_LABEL__colon_in_rename.xml": /^vm\.\d+\.from$/,
  "BAD_POLICY_NAME__colon.xml": /^header\.name$/,
  "BAD_POLICY_NAME__from_policy_colon.xml": /^header\.fromName$/,
};

async function main() {
  const code = await bundle();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
  const page = await browser.newPage();
  await page.addScriptTag({ content: code });
  const roundTrip = (xml) =>
    page.evaluate((x) => {
      const M = window.ShypeModel;
      const once = M.serializePolicy(M.parsePolicy(x)).xml;
      return { once, twice: M.serializePolicy(M.parsePolicy(once)).xml };
    }, xml);

  const policies = readdirSync(path.join(repo, "tests/data/policies"))
    .filter((f) => f.endsWith(".xml"))
    .map((f) => path.join(repo, "tests/data/policies", f));
  policies.push(path.join(repo, "examples/policies/shype-demo.xml"));
  for (const file of policies) {
    const name = path.relative(repo, file);
    const xml = readFileSync(file, "utf8");
    const { once, twice } = await roundTrip(xml);
    const original = compile(xml, "original.xml");
    const edited = compile(once);
    check(edited.ok, `${name}: the model's XML compiles${edited.ok ? "" : `: ${edited.message}`}`);
    check(edited.ok && original.dump === edited.dump, `${name}: ... to the same policy (dump equal)`);
    check(once === twice, `${name}: ... and reads back to the same XML`);
  }

  const negDir = path.join(repo, "tests/data/policies/negative");
  for (const [file, want] of Object.entries(NEGATIVE)) {
    const xml = readFileSync(path.join(negDir, file), "utf8");
    const category = file.split("__")[0];
    const written = await page.evaluate((x) => window.ShypeModel.serializePolicy(window.ShypeModel.parsePolicy(x)).xml, xml);
    const r = compile(written);
    check(!r.ok && r.message.includes(`[${category}]`), `${file}: the model keeps the fault (${category}): ${r.message?.trim()}`);
    if (r.ok) continue;
    const at = await page.evaluate(
      ([x, m]) => {
        const M = window.ShypeModel;
        const p = M.parsePolicy(x);
        return M.targetField(p, M.serializePolicy(p), m, "editor.xml");
      },
      [xml, r.message],
    );
    check(!!at && want.test(at.field), `${file}: the error lands on the field ${at?.field} (line ${at?.line})`);
  }
  await browser.close();
}

main()
  .catch((e) => check(false, `the test stopped: ${e?.stack ?? e}`))
  .finally(() => {
    rmSync(tmp, { recursive: true, force: true });
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  });
