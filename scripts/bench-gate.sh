#!/usr/bin/env bash
# Benchmark `toolreg check` on a generated registry of N servers × M tools, every pin
# approved, with the matching captured catalogs (issue 6: 500 × 50 under 2 s).
# Builds a throwaway git repository under a temp dir; needs hyperfine.
#   scripts/bench-gate.sh [SERVERS] [TOOLS]     (default 500 50)
set -euo pipefail
servers="${1:-500}"
tools="${2:-50}"
here="$(cd "$(dirname "$0")/.." && pwd)"
cargo build --release --manifest-path "$here/Cargo.toml" --bin toolreg --example gen-registry >/dev/null 2>&1
bin="$here/target/release/toolreg"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
git init -q . && git config user.name Bench && git config user.email bench@example.com
"$bin" init registry >/dev/null
echo "generating $servers × $tools:"
/usr/bin/time -f "  %e s" "$here/target/release/examples/gen-registry" "$work" "$servers" "$tools"
git add -A >/dev/null && git commit -qm "Generated registry"
echo "peak memory of one check: $(/usr/bin/time -f '%M KB' "$bin" check --catalogs catalogs 2>&1 >/dev/null)"
hyperfine --warmup 2 --runs 10 \
  "$bin check --catalogs catalogs" \
  "$bin check --catalogs catalogs --format sarif" \
  "$bin check --catalogs catalogs --base HEAD"
