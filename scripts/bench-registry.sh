#!/usr/bin/env bash
# Benchmark `toolreg diff` and `toolreg check` on an N-tool catalog against its pins
# (issue 4). Builds a throwaway git repository under a temp dir; needs hyperfine.
#   scripts/bench-registry.sh [N]     (default 1000)
set -euo pipefail
n="${1:-1000}"
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="$here/target/release/toolreg"
cargo build --release --manifest-path "$here/Cargo.toml" >/dev/null 2>&1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$here/scripts/gen-catalog.py" "$n" > "$work/v1.json"
# v2: every tenth description changed.
python3 - "$work/v1.json" "$work/v2.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for i in range(0, len(d["tools"]), 10):
    d["tools"][i]["description"] += " Changed."
json.dump(d, open(sys.argv[2], "w"))
PY
cd "$work"
git init -q . && git config user.name Bench && git config user.email bench@example.com
"$bin" init >/dev/null
"$bin" add gen --owner bench -- node server.js >/dev/null
echo "review --approve of $n tools:"
/usr/bin/time -f "  %e s, %M KB" "$bin" review gen --catalog v1.json --approve --note bench >/dev/null
mkdir cats && cp v1.json cats/gen.json
hyperfine --warmup 2 --runs 20 -i \
  "$bin diff gen --catalog v1.json" \
  "$bin diff gen --catalog v2.json" \
  "$bin check --catalogs cats"
