#!/usr/bin/env python3
"""A minimal stdio MCP server for the guard benchmark: one `echo` tool, every answer
immediate, so what is measured is the pipe and whatever sits on it."""
import json
import sys

TOOL = {"name": "echo", "description": "Echo the text back.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}}
out = sys.stdout
for raw in sys.stdin:
    msg = json.loads(raw)
    mid = msg.get("id")
    if mid is None:
        continue
    method = msg.get("method")
    if method == "initialize":
        result = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                  "serverInfo": {"name": "echo", "version": "1.0.0"}}
    elif method == "tools/list":
        result = {"tools": [TOOL]}
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": msg["params"]["arguments"]["text"]}]}
    else:
        out.write(json.dumps({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "?"}}) + "\n")
        out.flush()
        continue
    out.write(json.dumps({"jsonrpc": "2.0", "id": mid, "result": result}) + "\n")
    out.flush()
