#!/usr/bin/env node
// Scripted MCP client for Sallyport end-to-end tests, built on the official TypeScript SDK v1
// (@modelcontextprotocol/sdk 1.32.x: legacy era only, protocol 2025-11-25, initialize handshake).
//
// Usage:
//   node tests/node/ts_client.mjs --url URL [options] COMMAND [ARGS...]
//   node tests/node/ts_client.mjs --stdio "CMD ARGS" [options] COMMAND [ARGS...]
//
// Options:
//   --url URL                 Streamable HTTP endpoint (default transport)
//   --stdio "CMD ARGS"        spawn CMD and talk over stdio (whitespace-split; no shell)
//   --header "Name: value"    extra HTTP header (repeatable)      --bearer TOKEN
//   --timeout SECONDS         per-request timeout (default 30)
//   --no-callbacks            do not declare/handle sampling, elicitation, roots
//   --elicit-action accept|decline|cancel   (default accept)
//   --root URI                roots to return (repeatable; default file:///tmp/sallyport-e2e-root)
//   --log-level LEVEL         send logging/setLevel after connecting
//   --allow-tool-error        exit 0 even if call-tool returns isError
//   --pretty                  indent JSON output
//
// Commands: info | list-tools | list-resources | list-resource-templates | list-prompts |
//           call-tool NAME [JSON] | read-resource URI | get-prompt NAME [JSON] | ping |
//           complete-prompt NAME ARG VALUE | scenario basic | scenario fixture
//
// Prints ONE JSON document on stdout: {ok, command, protocolVersion, sessionId?, result|steps,
// notifications?, callbacks?, error?}. Exit: 0 ok, 1 protocol error/failed step, 2 usage,
// 3 tool isError, 4 connect/transport failure. Runs on Node >= 18.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";

const EXIT = { OK: 0, PROTOCOL: 1, USAGE: 2, TOOL_ERROR: 3, CONNECT: 4 };

class UsageError extends Error {}
class StepFailed extends Error {}

function parseArgs(argv) {
  const o = {
    url: null, stdio: null, headers: {}, timeout: 30, callbacks: true, elicitAction: "accept",
    roots: [], logLevel: null, allowToolError: false, pretty: false, rest: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case "--url": o.url = next(); break;
      case "--stdio": o.stdio = next(); break;
      case "--header": {
        const h = next();
        const idx = h.indexOf(":");
        if (idx < 0) throw new UsageError(`--header must look like 'Name: value', got ${h}`);
        o.headers[h.slice(0, idx).trim()] = h.slice(idx + 1).trim();
        break;
      }
      case "--bearer": o.headers.Authorization = `Bearer ${next()}`; break;
      case "--timeout": o.timeout = Number(next()); break;
      case "--no-callbacks": o.callbacks = false; break;
      case "--elicit-action": o.elicitAction = next(); break;
      case "--root": o.roots.push(next()); break;
      case "--log-level": o.logLevel = next(); break;
      case "--allow-tool-error": o.allowToolError = true; break;
      case "--pretty": o.pretty = true; break;
      case "--mode": {
        const m = next();
        if (m !== "legacy") throw new UsageError("the TS SDK v1 client only speaks the legacy era (--mode legacy)");
        break;
      }
      case "-h": case "--help": throw new UsageError("help");
      default: o.rest.push(a);
    }
  }
  if (!o.url === !o.stdio) throw new UsageError("exactly one of --url or --stdio is required");
  if (o.rest.length === 0) throw new UsageError("missing COMMAND");
  if (o.roots.length === 0) o.roots.push("file:///tmp/sallyport-e2e-root");
  return o;
}

function jsonArg(rest, i) {
  if (rest.length <= i || rest[i] === "") return {};
  const v = JSON.parse(rest[i]);
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new UsageError("JSON arguments must be an object");
  return v;
}

function valueFor(name, schema) {
  if ("default" in schema) return schema.default;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  for (const k of ["oneOf", "anyOf"]) {
    if (Array.isArray(schema[k]) && schema[k].length && "const" in schema[k][0]) return schema[k][0].const;
  }
  switch (schema.type) {
    case "boolean": return true;
    case "integer": return 42;
    case "number": return 4.5;
    case "array": return [valueFor(name, schema.items ?? {})];
    default:
      if (schema.format === "email" || name.toLowerCase().includes("email")) return "e2e@example.com";
      return `e2e-${name}`;
  }
}

const textOf = (r) => (r?.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join(" ");

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    const doc = { ok: false, error: { type: "usage", message: e.message } };
    process.stdout.write(JSON.stringify(doc) + "\n");
    if (e.message === "help") process.stderr.write(HELP);
    return EXIT.USAGE;
  }
  const [command, ...args] = opts.rest;
  const doc = { ok: false, command: opts.rest.join(" "), mode: "legacy" };
  const notifications = [];
  const callbacks = [];
  const steps = [];
  const reqOpts = { timeout: opts.timeout * 1000 };

  const capabilities = opts.callbacks ? { sampling: {}, elicitation: { form: {} }, roots: { listChanged: false } } : {};
  const client = new Client({ name: "sallyport-e2e-ts-client", version: "0.1.0" }, { capabilities });
  if (opts.callbacks) {
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      let last = "";
      for (const m of req.params.messages) {
        const blocks = Array.isArray(m.content) ? m.content : [m.content];
        for (const b of blocks) if (b?.type === "text") last = b.text;
      }
      const reply = `sampled: ${last}`;
      callbacks.push({ type: "sampling", request: req.params, reply });
      return { role: "assistant", content: { type: "text", text: reply }, model: "sallyport-e2e-model", stopReason: "endTurn" };
    });
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      const entry = { type: "elicitation", request: req.params, action: opts.elicitAction };
      callbacks.push(entry);
      if (opts.elicitAction !== "accept") return { action: opts.elicitAction };
      const props = req.params.requestedSchema?.properties ?? {};
      const content = Object.fromEntries(Object.entries(props).map(([k, s]) => [k, valueFor(k, s ?? {})]));
      entry.content = content;
      return { action: "accept", content };
    });
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      callbacks.push({ type: "roots" });
      return { roots: opts.roots.map((uri, i) => ({ uri, name: `e2e-root-${i}` })) };
    });
  }
  client.fallbackNotificationHandler = async (n) => { notifications.push({ method: n.method, params: n.params }); };
  client.setNotificationHandler(LoggingMessageNotificationSchema, async (n) => {
    notifications.push({ method: n.method, params: n.params });
  });

  let transport;
  if (opts.url) {
    transport = new StreamableHTTPClientTransport(new URL(opts.url), { requestInit: { headers: opts.headers } });
  } else {
    const [cmd, ...cmdArgs] = opts.stdio.trim().split(/\s+/);
    transport = new StdioClientTransport({ command: cmd, args: cmdArgs, env: getDefaultEnvironment(), stderr: "inherit" });
  }

  let negotiated;
  if (!transport.setProtocolVersion) transport.setProtocolVersion = (v) => { negotiated = v; };
  else {
    const orig = transport.setProtocolVersion.bind(transport);
    transport.setProtocolVersion = (v) => { negotiated = v; orig(v); };
  }
  let connected = false;
  let code = EXIT.OK;
  try {
    await client.connect(transport, reqOpts);
    connected = true;
    // HTTP transport records the negotiated version; over stdio wrap setProtocolVersion instead.
    doc.protocolVersion = transport.protocolVersion ?? negotiated;
    if (transport.sessionId) doc.sessionId = transport.sessionId;
    if (opts.logLevel) await client.setLoggingLevel(opts.logLevel, reqOpts);

    const step = async (name, fn, check) => {
      let result;
      try {
        result = await fn();
      } catch (e) {
        steps.push({ step: name, ok: false, error: errorOf(e) });
        throw new StepFailed(name);
      }
      const problem = check ? check(result) : null;
      steps.push(problem ? { step: name, ok: false, problem, result } : { step: name, ok: true, result });
      if (problem) throw new StepFailed(`${name}: ${problem}`);
      return result;
    };
    const expectText = (frag) => (r) =>
      r.isError ? `isError=true: ${textOf(r)}` : textOf(r).includes(frag) ? null : `expected '${frag}' in '${textOf(r)}'`;

    switch (command) {
      case "info":
        doc.result = { serverInfo: client.getServerVersion(), capabilities: client.getServerCapabilities(), instructions: client.getInstructions() };
        break;
      case "list-tools": doc.result = await client.listTools({}, reqOpts); break;
      case "list-resources": doc.result = await client.listResources({}, reqOpts); break;
      case "list-resource-templates": doc.result = await client.listResourceTemplates({}, reqOpts); break;
      case "list-prompts": doc.result = await client.listPrompts({}, reqOpts); break;
      case "ping": doc.result = await client.ping(reqOpts); break;
      case "call-tool": {
        if (!args[0]) throw new UsageError("call-tool NAME [JSON_ARGS]");
        const progress = [];
        const result = await client.callTool({ name: args[0], arguments: jsonArg(args, 1) }, undefined, {
          ...reqOpts,
          onprogress: (p) => progress.push(p),
        });
        doc.result = progress.length ? { ...result, _progress: progress } : result;
        if (result.isError && !opts.allowToolError) {
          code = EXIT.TOOL_ERROR;
          doc.error = { type: "tool_error", message: textOf(result) };
        }
        break;
      }
      case "read-resource":
        if (!args[0]) throw new UsageError("read-resource URI");
        doc.result = await client.readResource({ uri: args[0] }, reqOpts);
        break;
      case "get-prompt": {
        if (!args[0]) throw new UsageError("get-prompt NAME [JSON_ARGS]");
        const a = Object.fromEntries(Object.entries(jsonArg(args, 1)).map(([k, v]) => [k, String(v)]));
        doc.result = await client.getPrompt({ name: args[0], arguments: a }, reqOpts);
        break;
      }
      case "complete-prompt":
        if (args.length !== 3) throw new UsageError("complete-prompt NAME ARG VALUE");
        doc.result = await client.complete({ ref: { type: "ref/prompt", name: args[0] }, argument: { name: args[1], value: args[2] } }, reqOpts);
        break;
      case "scenario": {
        const name = args[0] ?? "basic";
        if (name === "basic") {
          const caps = client.getServerCapabilities() ?? {};
          steps.push({ step: "info", ok: true, result: { serverInfo: client.getServerVersion(), capabilities: caps } });
          if (caps.tools) await step("list-tools", () => client.listTools({}, reqOpts));
          if (caps.resources) {
            const res = await step("list-resources", () => client.listResources({}, reqOpts));
            await step("list-resource-templates", () => client.listResourceTemplates({}, reqOpts));
            if (res.resources.length) await step(`read-resource ${res.resources[0].uri}`, () => client.readResource({ uri: res.resources[0].uri }, reqOpts));
          }
          if (caps.prompts) {
            const pr = await step("list-prompts", () => client.listPrompts({}, reqOpts));
            const simple = pr.prompts.find((p) => !(p.arguments ?? []).some((a) => a.required));
            if (simple) await step(`get-prompt ${simple.name}`, () => client.getPrompt({ name: simple.name }, reqOpts));
          }
          await step("ping", () => client.ping(reqOpts));
        } else if (name === "fixture") {
          const tools = await step("list-tools", () => client.listTools({}, reqOpts));
          const have = new Set(tools.tools.map((t) => t.name));
          const missing = ["test_simple_text", "test_sampling", "test_elicitation", "test_list_roots"].filter((n) => !have.has(n));
          if (missing.length) {
            steps.push({ step: "fixture-tools-present", ok: false, problem: `missing ${missing}` });
            throw new StepFailed("fixture tools missing");
          }
          const call = (n, a = {}) => () => client.callTool({ name: n, arguments: a }, undefined, reqOpts);
          await step("call test_simple_text", call("test_simple_text"), expectText("simple text response"));
          await step("call test_image_content", call("test_image_content"), (r) =>
            r.content.length === 1 && r.content[0].type === "image" ? null : "expected one image block");
          await step("call test_sampling", call("test_sampling", { prompt: "ping from ts" }), expectText("LLM response: sampled: ping from ts"));
          await step("call test_elicitation", call("test_elicitation", { message: "who are you?" }), expectText("action=accept"));
          await step("call test_list_roots", call("test_list_roots"), expectText(opts.roots[0]));
          await step("call test_error_handling", call("test_error_handling"), (r) => (r.isError ? null : "expected isError=true"));
          await step("call test_tool_with_progress", () => {
            const seen = [];
            return client.callTool({ name: "test_tool_with_progress", arguments: {} }, undefined, { ...reqOpts, onprogress: (p) => seen.push(p) })
              .then((r) => ({ ...r, _progress: seen }));
          }, (r) => (r._progress.length === 3 ? null : `expected 3 progress notifications, got ${r._progress.length}`));
          await step("read test://static-text", () => client.readResource({ uri: "test://static-text" }, reqOpts), (r) =>
            (r.contents[0]?.text ?? "").includes("static text resource") ? null : "unexpected contents");
          await step("read test://static-binary", () => client.readResource({ uri: "test://static-binary" }, reqOpts), (r) =>
            r.contents[0]?.blob ? null : "expected a blob");
          await step("get test_prompt_with_arguments", () =>
            client.getPrompt({ name: "test_prompt_with_arguments", arguments: { arg1: "hello", arg2: "world" } }, reqOpts), (r) =>
            (r.messages[0]?.content?.text ?? "").includes("arg1='hello', arg2='world'") ? null : "prompt arguments not applied");
          await step("complete test_prompt_with_arguments.arg1", () =>
            client.complete({ ref: { type: "ref/prompt", name: "test_prompt_with_arguments" }, argument: { name: "arg1", value: "pa" } }, reqOpts),
          (r) => (r.completion.values.includes("paris") ? null : "expected 'paris'"));
          await step("ping", () => client.ping(reqOpts));
          const kinds = [...new Set(callbacks.map((c) => c.type))].sort();
          const ok = JSON.stringify(kinds) === JSON.stringify(["elicitation", "roots", "sampling"]);
          steps.push({ step: "callbacks-used", ok, result: kinds });
          if (!ok) throw new StepFailed("callbacks");
        } else {
          throw new UsageError(`unknown scenario ${name} (basic, fixture)`);
        }
        break;
      }
      default:
        throw new UsageError(`unknown command ${command}`);
    }
    doc.ok = code === EXIT.OK;
  } catch (e) {
    if (e instanceof UsageError) {
      doc.error = { type: "usage", message: e.message };
      code = EXIT.USAGE;
    } else if (e instanceof StepFailed) {
      doc.error = { type: "step_failed", message: e.message };
      code = EXIT.PROTOCOL;
    } else if (e instanceof McpError) {
      doc.error = { type: "mcp_error", ...errorOf(e) };
      code = connected ? EXIT.PROTOCOL : EXIT.CONNECT;
    } else {
      doc.error = { type: connected ? "exception" : "transport", message: String(e?.message ?? e) };
      code = connected ? EXIT.PROTOCOL : EXIT.CONNECT;
    }
  } finally {
    if (steps.length) doc.steps = steps;
    if (notifications.length) doc.notifications = notifications;
    if (callbacks.length) doc.callbacks = callbacks;
    try {
      if (connected && transport.terminateSession) await transport.terminateSession();
    } catch { /* server may not support DELETE */ }
    try { await client.close(); } catch { /* ignore */ }
  }
  if (doc.protocolVersion === undefined) delete doc.protocolVersion;
  process.stdout.write(JSON.stringify(doc, null, opts.pretty ? 2 : undefined) + "\n");
  return code;
}

function errorOf(e) {
  if (e instanceof McpError) return { code: e.code, message: e.message, data: e.data };
  return { message: String(e?.message ?? e) };
}

const HELP = `usage: ts_client.mjs (--url URL | --stdio "CMD ARGS") [--header "K: V"]... [--bearer T] COMMAND [ARGS]\n`;

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stdout.write(JSON.stringify({ ok: false, error: { type: "exception", message: String(e?.stack ?? e) } }) + "\n");
    process.exit(EXIT.PROTOCOL);
  },
);
