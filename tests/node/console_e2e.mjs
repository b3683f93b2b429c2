#!/usr/bin/env node
// The web console end to end, in headless Chromium (playwright-core, Debian's /usr/bin/chromium):
// a real `sallyport serve` fronting the Python SDK threat fixture, a real MCP client (the
// official TypeScript SDK) making calls, and an operator in the browser who
//   1. logs in with an admin token,
//   2. sees a live refused call appear in the live table,
//   3. approves a drifted tool after looking at its side-by-side diff,
//   4. approves a held call (the waiting client call then completes),
//   5. verifies the audit chain, and opens the compliance report.
// Screenshots go to results/console/. Exit 0 when every step passed, 1 otherwise.
//
// Usage: node tests/node/console_e2e.mjs --bin PATH/sallyport --python PATH/python
//        [--chromium /usr/bin/chromium] [--out results/console]

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";

import { chromium } from "playwright-core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");

function args() {
  const o = { bin: null, python: null, chromium: "/usr/bin/chromium", out: join(repo, "results", "console") };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i += 2) {
    const key = a[i].replace(/^--/, "");
    if (!(key in o)) throw new Error(`unknown option ${a[i]}`);
    o[key] = a[i + 1];
  }
  if (!o.bin || !o.python) throw new Error("usage: console_e2e.mjs --bin SALLYPORT --python PYTHON");
  return o;
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, check, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await sleep(150);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

function config(dir, mcpPort, adminPort, python) {
  const fixture = join(repo, "tests", "fixtures", "threat_server.py");
  return `listen: { http: "127.0.0.1:${mcpPort}" }
servers:
  - name: threat
    stdio:
      command: "${python}"
      args: ["${fixture}", "--set", "clean", "--rug-after", "2", "--announce"]
detect:
  pinning: { mode: tofu, action: quarantine, store: "${dir}/pins.db" }
  arguments: { action: require_approval, min_severity: high }
audit:
  store: { type: sqlite, path: "${dir}/audit.db" }
  signing_key: "${dir}/audit.key"
  compliance: [{ tag: GDPR, resources: ["mcp://threat/*"] }]
approvals: { store: "${dir}/approvals.db", wait_secs: 60 }
incidents: { store: "${dir}/incidents.db" }
admin:
  listen: "127.0.0.1:${adminPort}"
  tokens: [{ name: ops, token: "\${CONSOLE_ADMIN_TOKEN}" }]
`;
}

async function main() {
  const o = args();
  mkdirSync(o.out, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "sallyport-console-"));
  const [mcpPort, adminPort] = [await freePort(), await freePort()];
  const token = randomBytes(32).toString("hex");
  const cfg = join(dir, "sallyport.yaml");
  writeFileSync(cfg, config(dir, mcpPort, adminPort, o.python));
  const gwLog = join(o.out, "gateway.log");
  const gw = spawn(o.bin, ["serve", "-c", cfg], {
    env: { ...process.env, CONSOLE_ADMIN_TOKEN: token, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let logText = "";
  gw.stdout.on("data", (d) => (logText += d));
  gw.stderr.on("data", (d) => (logText += d));
  const base = `http://127.0.0.1:${adminPort}`;
  const steps = [];
  let browser;
  let client;
  let page;
  const step = async (name, fn) => {
    const t0 = Date.now();
    try {
      await fn();
      steps.push({ name, ok: true, ms: Date.now() - t0 });
      console.log(`  ok   ${name}`);
    } catch (e) {
      steps.push({ name, ok: false, error: String(e && e.stack || e) });
      console.log(`  FAIL ${name}: ${e && e.message}`);
      if (page) {
        await page.screenshot({ path: join(o.out, "failure.png"), fullPage: true }).catch(() => {});
        console.log(`  at ${page.url()}: ${(await page.textContent("main").catch(() => "")).slice(0, 500)}`);
      }
      throw e;
    }
  };
  try {
    await waitFor("the admin listener", async () => (await fetch(`${base}/admin/openapi.json`)).ok);
    client = new Client({ name: "console-e2e", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${mcpPort}/mcp`)));
    const tools = await client.listTools();
    if (!tools.tools.some((t) => t.name === "threat__get_weather")) throw new Error("threat__get_weather not listed");

    browser = await chromium.launch({
      executablePath: o.chromium,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const shot = (name) => page.screenshot({ path: join(o.out, `${name}.png`), fullPage: true });

    await step("unauthenticated console pages redirect to the login page", async () => {
      await page.goto(`${base}/console/approvals`);
      if (!page.url().endsWith("/console/login")) throw new Error(`landed on ${page.url()}`);
    });

    await step("a wrong token is refused", async () => {
      await page.fill("#token", "not-the-token-" + "x".repeat(30));
      await page.click("button[type=submit]");
      await page.waitForSelector("[role=alert]");
    });

    await step("log in with the admin token", async () => {
      await page.fill("#token", token);
      await page.click("button[type=submit]");
      await page.waitForURL(`${base}/console/`);
      const cookies = await page.context().cookies();
      const c = cookies.find((x) => x.name === "__Host-sallyport-console");
      if (!c || !c.httpOnly || !c.secure || c.sameSite !== "Strict") throw new Error(`cookie ${JSON.stringify(c)}`);
      await page.waitForSelector("#live-status:has-text('(live)')");
      await shot("01-live");
    });

    await step("a live refused call appears in the live table", async () => {
      // An unknown tool is refused by the gateway.
      await client.callTool({ name: "threat__no_such_tool", arguments: {} }).catch(() => {});
      await page.waitForSelector("#live tbody tr.outcome-deny", { timeout: 15000 });
      await shot("02-live-denied");
    });

    await step("a rug pull holds the drifted tool", async () => {
      for (let i = 0; i < 2; i++) await client.callTool({ name: "threat__get_weather", arguments: { city: "Oslo" } });
      await waitFor("the drift to be pinned", async () => {
        await client.listTools();
        await page.goto(`${base}/console/tools`);
        return (await page.locator("#tools tr.state-drift").count()) > 0;
      });
      await shot("03-tools-drift");
    });

    await step("the diff shows both definitions and the tool is approved", async () => {
      await page.click("#tools tr.state-drift a");
      await page.waitForSelector("table.diff tr.added");
      const added = await page.locator("table.diff tr.added").allTextContents();
      if (!added.join(" ").includes("wind speed")) throw new Error(`added lines: ${added}`);
      await shot("04-tool-diff");
      await page.click("button.approve");
      await page.waitForURL(`${base}/console/tools`);
      if ((await page.locator("#tools tr.state-drift").count()) !== 0) throw new Error("still held");
      const r = await client.callTool({ name: "threat__get_weather", arguments: { city: "Oslo" } });
      if (r.isError) throw new Error(`call after approval failed: ${JSON.stringify(r)}`);
    });

    await step("a held call waits, is approved in the console, and completes", async () => {
      const held = client.callTool(
        { name: "threat__read_file", arguments: { path: "../../../../etc/passwd" } },
        undefined,
        { timeout: 60000 },
      );
      await waitFor("the pending request", async () => {
        await page.goto(`${base}/console/approvals`);
        return (await page.locator("#pending tbody tr").count()) > 0;
      });
      await shot("05-approval-queue");
      await page.fill("#pending tbody tr input[name=note]", "checked with the owner");
      await page.click("#pending tbody tr button.approve");
      await page.waitForURL(`${base}/console/approvals`);
      const result = await held;
      const text = JSON.stringify(result);
      if (result.isError || !text.includes("etc/passwd")) throw new Error(`held call result: ${text}`);
      await page.waitForSelector("#decided tbody tr:has-text('checked with the owner')");
      await shot("06-approved");
    });

    await step("the audit chain verifies from the console", async () => {
      await page.goto(`${base}/console/audit?outcome=deny`);
      const rows = await page.locator("#audit tbody tr").count();
      if (rows === 0) throw new Error("no denied events found by the search");
      await page.click("#verify");
      await page.waitForSelector("#chain-status.ok");
      const status = await page.textContent("#chain-status");
      if (!status.includes("Chain intact")) throw new Error(status);
      await shot("07-audit-verified");
    });

    await step("the compliance report shows tagged activity and a signature", async () => {
      await page.goto(`${base}/console/compliance?days=1`);
      await page.waitForSelector("#frameworks");
      const gdpr = await page.locator("#frameworks tr:has-text('GDPR')").textContent();
      if (!/GDPR\s*[1-9]/.test(gdpr.replace(/\s+/g, " "))) throw new Error(`GDPR row: ${gdpr}`);
      await page.waitForSelector("#report-chain.ok");
      await shot("08-compliance");
      await page.emulateMedia({ media: "print" });
      await shot("09-compliance-print");
      await page.emulateMedia({ media: "screen" });
    });

    await step("a forged form without the CSRF token is refused", async () => {
      const status = await page.evaluate(async () => {
        const r = await fetch("/console/audit/verify", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "csrf=forged",
        });
        return r.status;
      });
      if (status !== 403) throw new Error(`status ${status}`);
    });
  } catch (e) {
    // Recorded by `step`; anything else is a setup failure.
    if (!steps.some((s) => !s.ok)) steps.push({ name: "setup", ok: false, error: String(e && e.stack || e) });
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (client) await client.close().catch(() => {});
    gw.kill("SIGTERM");
    await sleep(300);
    writeFileSync(gwLog, logText);
  }
  const failed = steps.filter((s) => !s.ok);
  writeFileSync(join(o.out, "steps.json"), JSON.stringify(steps, null, 2));
  console.log(`console e2e: ${steps.length - failed.length} passed, ${failed.length} failed`);
  for (const f of failed) console.log(f.error);
  if (failed.length) console.log(`gateway log: ${gwLog}\n${logText.split("\n").slice(-30).join("\n")}`);
  process.exit(failed.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
