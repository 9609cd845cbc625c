#!/usr/bin/env bash
# Benchmark what a [digest] policy costs `verify` (issue 20: exclusions are applied to
# the pointers named, not by re-walking every tool). One server of N tools, each with
# two computed `default`s; the same catalog verified against a lock without a policy,
# with two exclusions (`*` for the tool), and with `unordered = true` as well (which
# does walk every item). Needs hyperfine.
#   scripts/bench-volatile.sh [TOOLS]     (default 1000)
set -euo pipefail
tools="${1:-1000}"
here="$(cd "$(dirname "$0")/.." && pwd)"
cargo build --release --manifest-path "$here/Cargo.toml" --bin toolreg >/dev/null 2>&1
bin="$here/target/release/toolreg"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
git init -q . && git config user.name Bench && git config user.email bench@example.com
python3 - "$tools" <<'PY'
import json, sys
n = int(sys.argv[1])
def tool(i, stamp):
    return {"name": f"list_runs_{i}", "description": f"List the runs of project {i} between two dates.",
            "inputSchema": {"type": "object", "properties": {
                "project": {"type": "string", "description": "The project id."},
                "from": {"type": "string", "format": "date-time", "default": f"2026-10-{stamp}T00:00:00Z"},
                "to": {"type": "string", "format": "date-time", "default": f"2026-11-{stamp}T00:00:00Z"},
                "status": {"type": "string", "enum": ["failed", "passed", "skipped"]}},
                "required": ["project"]}}
for name, stamp in (("first", "01"), ("later", "02")):
    catalog = {"server": {"name": "bench", "version": "1"}, "protocolVersion": "2025-11-25",
               "tools": [tool(i, stamp) for i in range(n)]}
    json.dump(catalog, open(f"{name}.json", "w"))
PY
"$bin" init registry >/dev/null
"$bin" add bench --owner Bench -- bench-server >/dev/null
"$bin" review bench --catalog first.json --approve >/dev/null
"$bin" lock >/dev/null && cp registry/toolreg.lock plain.lock
cat >> registry/servers/bench/server.toml <<'TOML'

[digest]
exclude = ["/tools/*/inputSchema/properties/from/default", "/tools/*/inputSchema/properties/to/default"]
TOML
git add -A && git commit -qm exclude
"$bin" lock >/dev/null && cp registry/toolreg.lock excluded.lock
echo "unordered = true" >> registry/servers/bench/server.toml
git add -A && git commit -qm unordered
"$bin" lock >/dev/null && cp registry/toolreg.lock unordered.lock
"$bin" verify --lock plain.lock bench --catalog first.json >/dev/null
"$bin" verify --lock excluded.lock bench --catalog later.json >/dev/null
"$bin" verify --lock unordered.lock bench --catalog later.json >/dev/null
hyperfine --warmup 3 --runs 30 -N --export-json "$work/bench.json" \
  "$bin verify --lock plain.lock bench --catalog first.json" \
  "$bin verify --lock excluded.lock bench --catalog later.json" \
  "$bin verify --lock unordered.lock bench --catalog later.json"
python3 - "$work/bench.json" <<'PY'
import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    t = [x * 1000 for x in r["times"]]
    print(f"median {statistics.median(t):.1f} ms (min {min(t):.1f}, max {max(t):.1f}, sd {statistics.stdev(t):.1f}): {r['command'].split('toolreg ')[-1]}")
PY
