#!/usr/bin/env python3
"""Scripted MCP client for Sallyport end-to-end tests (official Python SDK `mcp` 2.3).

Connect (exactly one of):
  --url URL            Streamable HTTP endpoint (e.g. the gateway's http://127.0.0.1:PORT/mcp)
  --sse URL            legacy HTTP+SSE (2024-11-05) endpoint, e.g. http://127.0.0.1:PORT/sse
  --stdio "CMD ARGS"   spawn CMD and speak MCP over its stdin/stdout (shell-like splitting)

Options:
  --mode legacy|auto|2026-07-28
                       legacy = initialize handshake (2025-11-25); auto = probe server/discover,
                       fall back to initialize; 2026-07-28 = adopt the modern version, no probe
  --header "Name: value"   extra HTTP header on every request (repeatable; --url/--sse only)
  --bearer TOKEN       shorthand for --header "Authorization: Bearer TOKEN"
  --env K=V            extra environment for --stdio (repeatable); --inherit-env passes ours
  --cwd DIR            working directory for --stdio
  --timeout SECONDS    per-request read timeout (default 30) and overall deadline x4
  --no-callbacks       do not install sampling/elicitation/roots callbacks (capabilities undeclared)
  --elicit-action accept|decline|cancel   answer for elicitation requests (default accept)
  --root URI           roots returned to roots/list (repeatable; default file:///tmp/sallyport-e2e-root)
  --log-level LEVEL    opt in to server log notifications (modern: _meta logLevel; legacy: logging/setLevel)
  --allow-tool-error   exit 0 even if call-tool returns isError=true
  --pretty             indent the JSON output

Commands (one per invocation; each prints ONE JSON document on stdout):
  info                              protocolVersion, serverInfo, capabilities, instructions
  list-tools | list-resources | list-resource-templates | list-prompts
  call-tool NAME [JSON_ARGS]
  read-resource URI
  get-prompt NAME [JSON_ARGS]
  complete-prompt NAME ARG VALUE    completion/complete for a prompt argument
  ping                              (legacy sessions only)
  scenario basic                    info + every list + first resource/prompt, generic
  scenario fixture                  drives tests/fixtures/conformance_server.py end to end
                                    (text, image, sampling, elicitation, roots, resources, prompts)
  scenario everything               drives npm server-everything (echo, sum, sampling,
                                    elicitation, roots, resources, prompts)

Output: {"ok": true|false, "command": ..., "mode": ..., "protocolVersion": ...,
         "result": {...} | "steps": [...], "notifications": [...], "callbacks": [...],
         "error": {"type", "message", "code"?, "data"?}}
Exit status: 0 success; 1 protocol/JSON-RPC error or failed step; 2 usage error;
             3 call-tool returned isError (unless --allow-tool-error); 4 connect/transport failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
import traceback
import warnings
from typing import Any

warnings.filterwarnings("ignore")  # SDK deprecation warnings for logging/sampling/roots

import httpx2  # noqa: E402  (the SDK's HTTP client)
import mcp_types as types  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.context import ClientRequestContext  # noqa: E402
from mcp.client.sse import sse_client  # noqa: E402
from mcp.client.stdio import StdioServerParameters, get_default_environment  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

EXIT_OK, EXIT_PROTOCOL, EXIT_USAGE, EXIT_TOOL_ERROR, EXIT_CONNECT = 0, 1, 2, 3, 4


def dump(model: Any) -> Any:
    if model is None:
        return None
    if hasattr(model, "model_dump"):
        return model.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(model, list):
        return [dump(m) for m in model]
    return model


class Recorder:
    """Deterministic client-side callbacks; records everything the server asked for."""

    def __init__(self, elicit_action: str, roots: list[str]) -> None:
        self.elicit_action = elicit_action
        self.roots = roots
        self.callbacks: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.steps: list[dict[str, Any]] = []  # filled by `scenario` commands

    async def sampling(self, context: ClientRequestContext, params: types.CreateMessageRequestParams):
        last = ""
        for msg in params.messages:
            content = msg.content
            blocks = content if isinstance(content, list) else [content]
            for block in blocks:
                if getattr(block, "type", None) == "text":
                    last = block.text
        reply = f"sampled: {last}"
        self.callbacks.append({"type": "sampling", "request": dump(params), "reply": reply})
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=reply),
            model="sallyport-e2e-model",
            stop_reason="endTurn",
        )

    @staticmethod
    def _value_for(name: str, schema: dict[str, Any]) -> Any:
        if "default" in schema:
            return schema["default"]
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("oneOf", "anyOf"):
            if schema.get(key):
                first = schema[key][0]
                if isinstance(first, dict) and "const" in first:
                    return first["const"]
        typ = schema.get("type")
        if typ == "boolean":
            return True
        if typ == "integer":
            return 42
        if typ == "number":
            return 4.5
        if typ == "array":
            item = Recorder._value_for(name, schema.get("items") or {})
            return [item]
        if schema.get("format") == "email" or "email" in name.lower():
            return "e2e@example.com"
        return f"e2e-{name}"

    async def elicitation(self, context: ClientRequestContext, params: types.ElicitRequestParams):
        entry: dict[str, Any] = {"type": "elicitation", "request": dump(params), "action": self.elicit_action}
        self.callbacks.append(entry)
        if self.elicit_action != "accept":
            return types.ElicitResult(action=self.elicit_action)
        schema = getattr(params, "requested_schema", None) or {}
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        content = {name: self._value_for(name, sub if isinstance(sub, dict) else {}) for name, sub in props.items()}
        entry["content"] = content
        return types.ElicitResult(action="accept", content=content)

    async def list_roots(self, context: ClientRequestContext):
        self.callbacks.append({"type": "roots"})
        return types.ListRootsResult(
            roots=[types.Root(uri=uri, name=f"e2e-root-{i}") for i, uri in enumerate(self.roots)]
        )

    async def on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            self.notifications.append({"exception": repr(message)})
            return
        root = getattr(message, "root", message)
        self.notifications.append({"method": getattr(root, "method", type(root).__name__), "params": dump(getattr(root, "params", None))})


def parse_cli(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="e2e_client.py",
        description="Scripted MCP client (Python SDK 2.3) for Sallyport e2e tests.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--url")
    target.add_argument("--sse")
    target.add_argument("--stdio")
    p.add_argument("--mode", default="auto", choices=["legacy", "auto", "2026-07-28"])
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--bearer")
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--inherit-env", action="store_true")
    p.add_argument("--cwd")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--no-callbacks", action="store_true")
    p.add_argument("--elicit-action", choices=["accept", "decline", "cancel"], default="accept")
    p.add_argument("--root", action="append", default=[])
    p.add_argument("--log-level")
    p.add_argument("--allow-tool-error", action="store_true")
    p.add_argument("--pretty", action="store_true")
    p.add_argument("command")
    p.add_argument("args", nargs="*")
    return p.parse_args(argv)


def headers_from(args: argparse.Namespace) -> dict[str, str]:
    headers: dict[str, str] = {}
    for h in args.header:
        if ":" not in h:
            raise SystemExit(f"--header must look like 'Name: value', got {h!r}")
        k, v = h.split(":", 1)
        headers[k.strip()] = v.strip()
    if args.bearer:
        headers["Authorization"] = f"Bearer {args.bearer}"
    return headers


def build_target(args: argparse.Namespace) -> Any:
    headers = headers_from(args)
    timeout = httpx2.Timeout(args.timeout, read=max(args.timeout, 60.0))
    if args.url:
        http = httpx2.AsyncClient(headers=headers, timeout=timeout)
        return streamable_http_client(args.url, http_client=http)
    if args.sse:
        return sse_client(args.sse, headers=headers or None, timeout=args.timeout)
    parts = shlex.split(args.stdio)
    if not parts:
        raise SystemExit("--stdio needs a command")
    env = dict(os.environ) if args.inherit_env else get_default_environment()
    for kv in args.env:
        if "=" not in kv:
            raise SystemExit(f"--env must look like K=V, got {kv!r}")
        k, v = kv.split("=", 1)
        env[k] = v
    return StdioServerParameters(command=parts[0], args=parts[1:], env=env, cwd=args.cwd)


def json_arg(args: list[str], index: int) -> dict[str, Any]:
    if len(args) <= index or args[index] == "":
        return {}
    value = json.loads(args[index])
    if not isinstance(value, dict):
        raise SystemExit("JSON arguments must be an object")
    return value


class StepFailed(Exception):
    pass


async def run_command(client: Client, args: argparse.Namespace, rec: Recorder) -> tuple[dict[str, Any], int]:
    cmd, a = args.command, args.args
    progress: list[dict[str, Any]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append({"progress": value, "total": total, "message": message})

    if cmd == "info":
        return {
            "serverInfo": dump(client.server_info),
            "capabilities": dump(client.server_capabilities),
            "instructions": client.instructions,
        }, EXIT_OK
    if cmd == "list-tools":
        return dump(await client.list_tools()), EXIT_OK
    if cmd == "list-resources":
        return dump(await client.list_resources()), EXIT_OK
    if cmd == "list-resource-templates":
        return dump(await client.list_resource_templates()), EXIT_OK
    if cmd == "list-prompts":
        return dump(await client.list_prompts()), EXIT_OK
    if cmd == "call-tool":
        if not a:
            raise SystemExit("call-tool NAME [JSON_ARGS]")
        result = await client.call_tool(a[0], json_arg(a, 1), progress_callback=on_progress)
        out = dump(result)
        if progress:
            out["_progress"] = progress
        code = EXIT_TOOL_ERROR if getattr(result, "is_error", False) and not args.allow_tool_error else EXIT_OK
        return out, code
    if cmd == "read-resource":
        if not a:
            raise SystemExit("read-resource URI")
        return dump(await client.read_resource(a[0])), EXIT_OK
    if cmd == "get-prompt":
        if not a:
            raise SystemExit("get-prompt NAME [JSON_ARGS]")
        arguments = {k: str(v) for k, v in json_arg(a, 1).items()}
        return dump(await client.get_prompt(a[0], arguments or None)), EXIT_OK
    if cmd == "complete-prompt":
        if len(a) != 3:
            raise SystemExit("complete-prompt NAME ARG VALUE")
        ref = types.PromptReference(type="ref/prompt", name=a[0])
        return dump(await client.complete(ref, {"name": a[1], "value": a[2]})), EXIT_OK
    if cmd == "ping":
        return dump(await client.send_ping()) or {}, EXIT_OK
    if cmd == "scenario":
        name = a[0] if a else "basic"
        if name == "basic":
            await scenario_basic(client, rec.steps)
            return {"steps": rec.steps}, EXIT_OK
        if name == "fixture":
            await scenario_fixture(client, rec, rec.steps)
            return {"steps": rec.steps}, EXIT_OK
        if name == "everything":
            await scenario_everything(client, rec, rec.steps)
            return {"steps": rec.steps}, EXIT_OK
        raise SystemExit(f"unknown scenario {name!r} (basic, fixture, everything)")
    raise SystemExit(f"unknown command {cmd!r}")


async def _step(steps: list[dict[str, Any]], name: str, coro: Any, check: Any = None) -> Any:
    try:
        result = await coro
    except MCPError as exc:
        steps.append({"step": name, "ok": False, "error": {"code": exc.code, "message": exc.message, "data": exc.data}})
        raise StepFailed(name) from exc
    data = dump(result)
    ok = True
    problem = None
    if check is not None:
        problem = check(result)
        ok = problem is None
    entry = {"step": name, "ok": ok, "result": data}
    if problem:
        entry["problem"] = problem
    steps.append(entry)
    if not ok:
        raise StepFailed(f"{name}: {problem}")
    return result


async def scenario_basic(client: Client, steps: list[dict[str, Any]]) -> None:
    caps = client.server_capabilities
    steps.append({"step": "info", "ok": True, "result": {"serverInfo": dump(client.server_info), "capabilities": dump(caps)}})
    if caps.tools is not None:
        await _step(steps, "list-tools", client.list_tools())
    if caps.resources is not None:
        res = await _step(steps, "list-resources", client.list_resources())
        await _step(steps, "list-resource-templates", client.list_resource_templates())
        if res.resources:
            await _step(steps, f"read-resource {res.resources[0].uri}", client.read_resource(str(res.resources[0].uri)))
    if caps.prompts is not None:
        pr = await _step(steps, "list-prompts", client.list_prompts())
        simple = next((p for p in pr.prompts if not any(arg.required for arg in (p.arguments or []))), None)
        if simple is not None:
            await _step(steps, f"get-prompt {simple.name}", client.get_prompt(simple.name))


def _text_of(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in getattr(result, "content", []) if getattr(c, "type", "") == "text")


def _expect_text(fragment: str):
    def check(result: Any) -> str | None:
        if getattr(result, "is_error", False):
            return f"isError=true: {_text_of(result)!r}"
        return None if fragment in _text_of(result) else f"expected {fragment!r} in {_text_of(result)!r}"

    return check


async def scenario_fixture(client: Client, rec: Recorder, steps: list[dict[str, Any]]) -> None:
    tools = await _step(steps, "list-tools", client.list_tools())
    names = {t.name for t in tools.tools}
    missing = {"test_simple_text", "test_sampling", "test_elicitation", "test_list_roots"} - names
    if missing:
        steps.append({"step": "fixture-tools-present", "ok": False, "problem": f"missing {sorted(missing)}"})
        raise StepFailed("fixture tools missing")
    await _step(steps, "call test_simple_text", client.call_tool("test_simple_text", {}), _expect_text("simple text response"))

    def image_check(result: Any) -> str | None:
        kinds = [c.type for c in result.content]
        return None if kinds == ["image"] else f"content types {kinds}"

    await _step(steps, "call test_image_content", client.call_tool("test_image_content", {}), image_check)
    await _step(
        steps,
        "call test_sampling",
        client.call_tool("test_sampling", {"prompt": "ping from e2e"}),
        _expect_text("LLM response: sampled: ping from e2e"),
    )
    await _step(
        steps,
        "call test_elicitation",
        client.call_tool("test_elicitation", {"message": "who are you?"}),
        _expect_text("action=accept"),
    )
    await _step(steps, "call test_list_roots", client.call_tool("test_list_roots", {}), _expect_text(rec.roots[0]))
    await _step(
        steps,
        "call test_error_handling",
        client.call_tool("test_error_handling", {}),
        lambda r: None if r.is_error else "expected isError=true",
    )
    await _step(
        steps,
        "read test://static-text",
        client.read_resource("test://static-text"),
        lambda r: None if "static text resource" in getattr(r.contents[0], "text", "") else "unexpected contents",
    )
    await _step(
        steps,
        "read test://template/7/data",
        client.read_resource("test://template/7/data"),
        lambda r: None if '"id":"7"' in getattr(r.contents[0], "text", "") else "template not substituted",
    )
    await _step(
        steps,
        "get test_prompt_with_arguments",
        client.get_prompt("test_prompt_with_arguments", {"arg1": "hello", "arg2": "world"}),
        lambda r: None
        if "arg1='hello', arg2='world'" in getattr(r.messages[0].content, "text", "")
        else "prompt arguments not applied",
    )
    kinds = sorted({c["type"] for c in rec.callbacks})
    if kinds != ["elicitation", "roots", "sampling"]:
        steps.append({"step": "callbacks-used", "ok": False, "problem": f"callbacks seen: {kinds}"})
        raise StepFailed("callbacks")
    steps.append({"step": "callbacks-used", "ok": True, "result": kinds})


async def scenario_everything(client: Client, rec: Recorder, steps: list[dict[str, Any]]) -> None:
    """Drives npm @modelcontextprotocol/server-everything (legacy-only server)."""
    await _step(steps, "list-tools", client.list_tools())
    await _step(steps, "call echo", client.call_tool("echo", {"message": "hi"}), _expect_text("Echo: hi"))
    await _step(steps, "call get-sum", client.call_tool("get-sum", {"a": 2, "b": 3}), _expect_text("5"))
    await _step(
        steps,
        "call trigger-sampling-request",
        client.call_tool("trigger-sampling-request", {"prompt": "hello"}),
        _expect_text("sallyport-e2e-model"),
    )
    await _step(
        steps,
        "call trigger-elicitation-request",
        client.call_tool("trigger-elicitation-request", {}),
        lambda r: None if not r.is_error else "isError",
    )
    await _step(steps, "call get-roots-list", client.call_tool("get-roots-list", {}), _expect_text(rec.roots[0]))
    res = await _step(steps, "list-resources", client.list_resources())
    if res.resources:
        await _step(steps, "read first resource", client.read_resource(str(res.resources[0].uri)))
    await _step(steps, "get-prompt simple-prompt", client.get_prompt("simple-prompt"))


def emit(doc: dict[str, Any], pretty: bool) -> None:
    sys.stdout.write(json.dumps(doc, indent=2 if pretty else None, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


async def amain(args: argparse.Namespace) -> int:
    rec = Recorder(args.elicit_action, args.root or ["file:///tmp/sallyport-e2e-root"])
    doc: dict[str, Any] = {"ok": False, "command": " ".join([args.command, *args.args]), "mode": args.mode}
    try:
        target = build_target(args)
    except SystemExit as exc:
        doc["error"] = {"type": "usage", "message": str(exc)}
        emit(doc, args.pretty)
        return EXIT_USAGE
    cb: dict[str, Any] = {}
    if not args.no_callbacks:
        cb = {
            "sampling_callback": rec.sampling,
            "elicitation_callback": rec.elicitation,
            "list_roots_callback": rec.list_roots,
        }
    client = Client(
        target,
        mode=args.mode,
        read_timeout_seconds=args.timeout,
        message_handler=rec.on_message,
        log_level=args.log_level if args.mode != "legacy" else None,
        client_info=types.Implementation(name="sallyport-e2e-client", version="0.1.0"),
        **cb,
    )
    code = EXIT_OK
    connected = False
    try:
        async with asyncio.timeout(args.timeout * 4):
            async with client:
                connected = True
                doc["protocolVersion"] = client.protocol_version
                if args.log_level and client.protocol_version < "2026-07-28":
                    try:
                        await client.set_logging_level(args.log_level)
                    except MCPError:
                        pass
                result, code = await run_command(client, args, rec)
                doc["ok"] = code == EXIT_OK
                if "steps" in result:
                    doc["steps"] = result["steps"]
                else:
                    doc["result"] = result
                if code == EXIT_TOOL_ERROR:
                    doc["error"] = {"type": "tool_error", "message": _text_of_dump(result)}
    except SystemExit as exc:
        doc["error"] = {"type": "usage", "message": str(exc)}
        code = EXIT_USAGE
    except StepFailed as exc:
        doc["error"] = {"type": "step_failed", "message": str(exc)}
        code = EXIT_PROTOCOL
    except MCPError as exc:
        doc["error"] = {"type": "mcp_error", "code": exc.code, "message": exc.message, "data": exc.data}
        code = EXIT_PROTOCOL
    except BaseException as exc:  # noqa: BLE001 - report everything as JSON
        inner = exc
        while isinstance(inner, BaseExceptionGroup) and len(inner.exceptions) == 1:
            inner = inner.exceptions[0]
        if isinstance(inner, MCPError):
            doc["error"] = {"type": "mcp_error", "code": inner.code, "message": inner.message, "data": inner.data}
            code = EXIT_PROTOCOL
        elif isinstance(inner, StepFailed):
            doc["error"] = {"type": "step_failed", "message": str(inner)}
            code = EXIT_PROTOCOL
        else:
            doc["error"] = {
                "type": "transport" if not connected else "exception",
                "message": f"{type(inner).__name__}: {inner}",
            }
            if os.environ.get("E2E_CLIENT_DEBUG"):
                traceback.print_exception(exc)
            code = EXIT_CONNECT if not connected else EXIT_PROTOCOL
        if isinstance(exc, KeyboardInterrupt):
            raise
    if rec.steps:
        doc["steps"] = rec.steps
        if code == EXIT_OK:
            doc["ok"] = all(s.get("ok") for s in rec.steps)
    if rec.notifications:
        doc["notifications"] = rec.notifications
    if rec.callbacks:
        doc["callbacks"] = rec.callbacks
    emit(doc, args.pretty)
    return code


def _text_of_dump(result: dict[str, Any]) -> str:
    return " ".join(c.get("text", "") for c in result.get("content", []) if c.get("type") == "text")


def main() -> int:
    args = parse_cli(sys.argv[1:])
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
