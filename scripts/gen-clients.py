#!/usr/bin/env python3
"""A fake home with many client configurations, for benchmarking `toolreg discover`.

    scripts/gen-clients.py DIR [FILES] [SERVERS]     (default 20 files, 500 servers)

Writes FILES configuration files of different clients (JSON, JSONC, TOML, YAML) under
DIR/home, spreading SERVERS servers across them, and a project under DIR/project with a
.mcp.json of 25 servers. Every launch is realistic (npx/uvx/docker/remote), a few risky.
"""
import json
import os
import sys

root = sys.argv[1]
files = int(sys.argv[2]) if len(sys.argv) > 2 else 20
servers = int(sys.argv[3]) if len(sys.argv) > 3 else 500

LAYOUT = [
    ("Library/Application Support/Claude/claude_desktop_config.json", "json", "mcpServers"),
    (".cursor/mcp.json", "json", "mcpServers"),
    (".config/Code/User/mcp.json", "json", "servers"),
    (".codeium/windsurf/mcp_config.json", "json", "mcpServers"),
    (".codex/config.toml", "toml", "mcp_servers"),
    (".gemini/settings.json", "json", "mcpServers"),
    (".config/zed/settings.json", "jsonc", "context_servers"),
    (".kiro/settings/mcp.json", "json", "mcpServers"),
    (".aws/amazonq/mcp.json", "json", "mcpServers"),
    (".config/opencode/opencode.json", "opencode", "mcp"),
    (".lmstudio/mcp.json", "json", "mcpServers"),
    (".copilot/mcp-config.json", "json", "mcpServers"),
    (".junie/mcp/mcp.json", "json", "mcpServers"),
    (".config/amp/settings.json", "json", "amp.mcpServers"),
    (".continue/config.yaml", "yaml", "mcpServers"),
    (".config/goose/config.yaml", "goose", "extensions"),
    ("AppData/Roaming/Claude/claude_desktop_config.json", "json", "mcpServers"),
    (".claude.json", "json", "mcpServers"),
    (".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json", "json", "mcpServers"),
    (".config/Code/User/profiles/p1/mcp.json", "json", "servers"),
]


def launch(i):
    kind = i % 5
    if kind == 0:
        return {"command": "npx", "args": ["-y", f"@acme/server-{i}@1.{i}.0", "/home/me/work"], "env": {"TOKEN": "${TOKEN}"}}
    if kind == 1:
        return {"command": "uvx", "args": [f"mcp-server-{i}"]}
    if kind == 2:
        return {"command": "docker", "args": ["run", "-i", "--rm", f"ghcr.io/acme/s{i}:latest"]}
    if kind == 3:
        return {"url": f"https://mcp{i}.example.com/mcp", "headers": {"Authorization": "Bearer ${env:T}"}}
    return {"command": "sh", "args": ["-c", f"node /opt/s{i}/index.js"]}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


per_file = max(1, servers // files)
n = 0
for index in range(files):
    rel, fmt, key = LAYOUT[index % len(LAYOUT)]
    if index >= len(LAYOUT):
        rel = rel.replace("/mcp.json", f"/p{index}/mcp.json")
    entries = {f"s{n + k}": launch(n + k) for k in range(per_file)}
    n += per_file
    path = os.path.join(root, "home", rel)
    if fmt in ("json", "jsonc"):
        body = json.dumps({key: entries}, indent=2)
        write(path, ("// generated\n" if fmt == "jsonc" else "") + body + "\n")
    elif fmt == "opencode":
        body = {k: ({"type": "local", "command": [v["command"], *v["args"]]} if "command" in v else {"type": "remote", "url": v["url"]}) for k, v in entries.items()}
        write(path, json.dumps({key: body}, indent=2) + "\n")
    elif fmt == "toml":
        lines = []
        for name, v in entries.items():
            lines.append(f"[mcp_servers.{name}]")
            if "command" in v:
                lines.append(f'command = "{v["command"]}"')
                lines.append("args = [" + ", ".join(json.dumps(a) for a in v["args"]) + "]")
            else:
                lines.append(f'url = "{v["url"]}"')
            lines.append("")
        write(path, "\n".join(lines))
    elif fmt == "yaml":
        lines = [f"{key}:"]
        for name, v in entries.items():
            lines.append(f"  - name: {name}")
            if "command" in v:
                lines.append(f"    command: {v['command']}")
                lines.append("    args: [" + ", ".join(json.dumps(a) for a in v["args"]) + "]")
            else:
                lines.append("    type: streamable-http")
                lines.append(f"    url: {v['url']}")
        write(path, "\n".join(lines) + "\n")
    elif fmt == "goose":
        lines = [f"{key}:"]
        for name, v in entries.items():
            lines.append(f"  {name}:")
            if "command" in v:
                lines.append("    type: stdio")
                lines.append(f"    cmd: {v['command']}")
                lines.append("    args: [" + ", ".join(json.dumps(a) for a in v["args"]) + "]")
            else:
                lines.append("    type: streamable_http")
                lines.append(f"    uri: {v['url']}")
        write(path, "\n".join(lines) + "\n")

project = {f"p{k}": launch(k) for k in range(25)}
write(os.path.join(root, "project", ".mcp.json"), json.dumps({"mcpServers": project}, indent=2) + "\n")
print(f"{files} files, {n} servers under {root}/home; 25 in {root}/project/.mcp.json")
