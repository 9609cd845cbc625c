#!/usr/bin/env python3
"""Write a synthetic catalog of N tools to stdout, for benchmarks (benign, deterministic).

Usage: python3 scripts/gen-catalog.py 10000 > /tmp/catalog-10k.json
"""
import json
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
tools = []
for i in range(n):
    tools.append({
        "name": f"tool_{i:05d}",
        "title": f"Tool number {i}",
        "description": (
            f"Performs operation {i} on the given resource. Returns a JSON object with the "
            "result and a status field. Use the `mode` parameter to choose between fast and "
            "thorough processing; the default is fast."
        ),
        "inputSchema": {
            "type": "object",
            "properties": {
                "resource": {"type": "string", "description": "Identifier of the resource to process."},
                "mode": {"type": "string", "enum": ["fast", "thorough"], "default": "fast",
                         "description": "Processing mode."},
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Maximum items."},
                "options": {"type": "object", "properties": {
                    "verbose": {"type": "boolean", "description": "Include details."},
                    "tags": {"type": "array", "items": {"type": "string"}, "description": "Labels to filter by."},
                }},
            },
            "required": ["resource"],
        },
        "annotations": {"readOnlyHint": i % 2 == 0, "openWorldHint": False},
    })
json.dump({"server": {"name": "generated", "version": "1.0.0"}, "tools": tools}, sys.stdout)
