#!/usr/bin/env bash
# Adversarial-shapes benchmark (issue 13, item 6): time and peak RSS of `toolreg scan`
# on each shape of scripts/gen-adversarial.py, of `toolreg diff` on two large
# near-identical descriptions, and of the fuzzed repro files in ../shared/repro when
# this checkout has them. Prints one markdown table row per case.
#   scripts/bench-adversarial.sh [BYTES] [RUNS]     (default 1000000 bytes, 10 runs)
# Uses hyperfine when installed (mean ± σ, median, min … max), else /usr/bin/time
# over RUNS runs. Peak RSS is the largest of three /usr/bin/time -f %M runs.
# Exit code 1 is expected on several shapes (they hold real findings).
set -euo pipefail
size="${1:-1000000}"
runs="${2:-10}"
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="$here/target/release/toolreg"
cargo build --release --manifest-path "$here/Cargo.toml" >/dev/null 2>&1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gen="$here/scripts/gen-adversarial.py"

# One case: name, input bytes, command (an array after the first two arguments).
measure() {
  local name="$1" bytes="$2"
  shift 2
  local rss=0 r
  for _ in 1 2 3; do
    /usr/bin/time -o "$work/t" -f '%M' "$@" >/dev/null 2>&1 || true
    r=$(tail -1 "$work/t")
    ((r > rss)) && rss=$r
  done
  if command -v hyperfine >/dev/null; then
    hyperfine -N -i --warmup 1 --runs "$runs" --export-json "$work/h.json" "$*" >/dev/null 2>&1
    python3 - "$work/h.json" "$name" "$bytes" "$rss" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
name, size, rss = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ms = lambda s: s * 1000
print(f"| {name} | {size / 1e6:.2f} MB | {ms(r['mean']):.1f} ms ± {ms(r['stddev'] or 0):.1f} "
      f"| {ms(r['median']):.1f} ms | {ms(r['min']):.1f} … {ms(r['max']):.1f} ms "
      f"| {ms(r['median']) / (size / 1e6):.0f} ms/MB | {rss / 1024:.0f} MB |")
PY
  else
    local times=()
    for _ in $(seq "$runs"); do
      /usr/bin/time -o "$work/t" -f '%e' "$@" >/dev/null 2>&1 || true
      times+=("$(tail -1 "$work/t")")
    done
    python3 - "$name" "$bytes" "$rss" "${times[@]}" <<'PY'
import statistics, sys
name, size, rss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = [float(x) * 1000 for x in sys.argv[4:]]
print(f"| {name} | {size / 1e6:.2f} MB | {statistics.mean(t):.0f} ms ± {statistics.pstdev(t):.0f} "
      f"| {statistics.median(t):.0f} ms | {min(t):.0f} … {max(t):.0f} ms "
      f"| {statistics.median(t) / (size / 1e6):.0f} ms/MB | {rss / 1024:.0f} MB |")
PY
  fi
}

echo "| case | input | mean ± σ | median | min … max | median per MB | peak RSS |"
echo "|---|---|---|---|---|---|---|"
for shape in zw zw-run combining vs controls ansi tags nospace name deep keys dupes; do
  python3 "$gen" "$shape" "$size" > "$work/$shape.json"
  measure "scan $shape" "$(stat -c %s "$work/$shape.json")" "$bin" scan --format json "$work/$shape.json"
done

repro="$here/../shared/repro"
for f in scan-blowup-112k.json scan-blowup-207k.json; do
  if [ -f "$repro/$f" ]; then
    measure "scan $f" "$(stat -c %s "$repro/$f")" "$bin" scan --format json "$repro/$f"
  fi
done

# diff: a registry with the old description approved, then the new one diffed.
python3 "$gen" diff "$size" "$work/old.json" "$work/new.json"
mkdir "$work/reg"
(
  cd "$work/reg"
  git init -q . && git config user.name Bench && git config user.email bench@example.com
  "$bin" init >/dev/null
  "$bin" add adv --owner bench -- node server.js >/dev/null
  "$bin" review adv --catalog "$work/old.json" --approve --note bench >/dev/null
)
cd "$work/reg"
measure "diff (two near-identical descriptions)" "$(stat -c %s "$work/new.json")" \
  "$bin" diff adv --catalog "$work/new.json"
