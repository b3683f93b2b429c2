import asyncio
from mcp import Client

async def main():
    for mode in ("legacy", "auto"):
        async with Client("http://127.0.0.1:8787/mcp", mode=mode) as client:
            tools = await client.list_tools()
            print(mode, "->", [t.name for t in tools.tools][:6], "...")
            result = await client.call_tool("tools__add", {"a": 2, "b": 40})
            print(mode, "tools__add ->", result.structured_content)
            result = await client.call_tool("notes__echo", {"text": "hello through the gate"})
            print(mode, "notes__echo ->", result.content[0].text)

asyncio.run(main())
