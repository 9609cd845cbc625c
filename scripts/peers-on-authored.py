#!/usr/bin/env python3
"""The authored evaluation sets (tests/eval/*.json) scanned by toolreg and by the peer
scanners of ../shared/peer-bench, item by item, offline.

    bash ../shared/peer-bench/run_peers.sh   # installs the peers in /tmp/peerbench (PEER_WORK)
    scripts/peers-on-authored.py [--jsonl OUT] tests/eval/*.json

Each item's catalog is written twice: whole (toolreg-full: every location) and as its
tools only, {"tools": [...]} (toolreg-tools and every peer: the peers read tools, not
server instructions, prompts or resources). An item counts for toolreg at its highest
finding (high and medium columns); for a peer at any finding and at high or above.
cisco-ai-mcp-scanner (YARA analyzer, the offline one) starts in about 5 s, so it runs
once per set on all the set's tools, each renamed i<n>__<name>, and its per-tool
verdicts are mapped back. Prints counts only, never an item's text: the unseen sets
stay unread. TOOLREG names the binary (target/release/toolreg).
"""
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import tempfile

W = os.environ.get("PEER_WORK", "/tmp/peerbench")
TOOLREG = os.environ.get("TOOLREG", "target/release/toolreg")
MCPSCAN = os.environ.get("MCPSCAN", f"{W}/venv-mcpscancli/bin/mcpscan")
SEV = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

def run(cmd, timeout=120):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout
    except (OSError, subprocess.TimeoutExpired):
        return -1, ""

def toolreg(path):
    _, out = run([TOOLREG, "scan", path, "--format", "json", "--fail-on", "critical"])
    try:
        fs = json.loads(out)["findings"]
    except Exception:
        return None
    top = max((SEV.get(f["severity"], 0) for f in fs), default=-1)
    return top

def mcpscancli(path):
    _, out = run([MCPSCAN, "--json", path])
    try:
        r = json.loads(out)
    except Exception:
        return None
    return max((SEV.get(f["severity"].lower(), 0) for f in r["findings"]), default=-1)

def bastion(path):
    _, out = run([f"{W}/venv-bastion/bin/bastionsupply", "scan", path, "--json"])
    try:
        r = json.loads(out)
    except Exception:
        return None
    fs = r.get("findings", []) if isinstance(r, dict) else r
    return max((SEV.get(str(f.get("severity", "low")).lower(), 1) for f in fs), default=-1)

def auditor(path):
    outp = path + ".auditor.json"
    run([f"{W}/venv-auditor/bin/mcp-tool-auditor", "--no-log-file", "--no-metrics", "scan", "import", "--format", "json", "-o", outp, path])
    try:
        r = json.load(open(outp))
    except Exception:
        return None
    top = -1
    def walk(x):
        nonlocal top
        if isinstance(x, dict):
            sev = x.get("severity") or x.get("risk_level")
            if isinstance(sev, str) and sev.lower() in SEV:
                top = max(top, SEV[sev.lower()])
            for v in x.values(): walk(v)
        elif isinstance(x, list):
            for v in x: walk(v)
    walk(r)
    return top

PEERS = {"toolreg-full": None, "toolreg-tools": toolreg}
for name, fn, present in [
    ("mcpscan-cli", mcpscancli, os.path.exists(MCPSCAN)),
    ("bastion", bastion, os.path.exists(f"{W}/venv-bastion/.ok")),
    ("auditor", auditor, os.path.exists(f"{W}/venv-auditor/.ok")),
]:
    if present:
        PEERS[name] = fn

def one(args):
    setname, item, tmp = args
    base = os.path.join(tmp, item["id"])
    tools_path = base + ".tools.json"
    full_path = base + ".full.json"
    json.dump({"tools": item["catalog"].get("tools", [])}, open(tools_path, "w"), ensure_ascii=False)
    json.dump(item["catalog"], open(full_path, "w"), ensure_ascii=False)
    res = {"set": setname, "id": item["id"], "label": item["label"], "class": item.get("class"),
           "language": item.get("language"), "location": item.get("location")}
    for name, fn in PEERS.items():
        res[name] = toolreg(full_path) if name == "toolreg-full" else fn(tools_path)
    return res

def cisco_batch(items, tmp):
    """One run for a whole set (5 s of start-up per run): every item's tools renamed
    i<n>__<name>, the per-tool verdicts mapped back to items."""
    tools = []
    for n, item in enumerate(items):
        for t in item["catalog"].get("tools", []):
            t = dict(t); t["name"] = f"i{n}__{t.get('name', '')}"
            tools.append(t)
    path = os.path.join(tmp, "cisco-batch.json")
    json.dump({"tools": tools}, open(path, "w"), ensure_ascii=False)
    _, out = run([f"{W}/venv-cisco/bin/mcp-scanner", "--analyzers", "yara", "--format", "raw", "static", "--tools", path], timeout=1800)
    top = {}
    try:
        r = json.loads(out)
    except Exception:
        return None
    for res in r.get("scan_results", []):
        n = int(res["tool_name"].split("__", 1)[0][1:])
        sev = str(res.get("findings", {}).get("yara_analyzer", {}).get("severity", "SAFE")).lower()
        top[n] = max(top.get(n, -1), SEV.get(sev, -1))
    return top

def scan_all(paths):
    tmp = tempfile.mkdtemp(prefix="peer-")
    rows = []
    verdicts = {}
    if os.path.exists(f"{W}/venv-cisco/.ok"):
        for p in paths:
            items = json.load(open(p))["items"]
            top = cisco_batch(items, tmp)
            for n, item in enumerate(items):
                verdicts[(os.path.basename(p)[:-5], item["id"])] = None if top is None else top.get(n, -1)
    jobs = []
    for p in paths:
        for item in json.load(open(p))["items"]:
            jobs.append((os.path.basename(p)[:-5], item, tmp))
    with cf.ThreadPoolExecutor(2) as ex:
        for r in ex.map(one, jobs):
            if verdicts:
                r["cisco-yara"] = verdicts.get((r["set"], r["id"]))
            rows.append(r)
    return rows

TOOL_LOC = {"description", "parameter-description", "output-schema"}
UNSEEN = {"holdout", "independent3-holdout"}


def summarise(rows):
    scanners = [k for k in rows[0] if k not in ("set", "id", "label", "class", "language", "location")]

    def cell(rs, s, at):
        ok = [r for r in rs if r.get(s) is not None]
        n = sum(1 for r in ok if r[s] >= at)
        return f"{n}" + ("" if len(ok) == len(rs) else f" ({len(rs) - len(ok)} failed)")

    sets = sorted({r["set"] for r in rows}, key=lambda s: (s in UNSEEN, s))
    for subset, pred in [
        ("tool locations (description, parameter description, output schema): what every scanner reads",
         lambda r: r["location"] in TOOL_LOC),
        ("all six locations (the peers are given the tools only)", lambda r: True),
    ]:
        print(f"\n### {subset}\n")
        print("toolreg: at high · at medium; peers: any finding · at high or above\n")
        print("| set | label | items | " + " | ".join(scanners) + " |")
        print("|---|---|---|" + "---|" * len(scanners))
        for st in sets:
            for label in ("attack", "benign"):
                rs = [r for r in rows if r["set"] == st and r["label"] == label and pred(r)]
                if not rs:
                    continue
                cells = []
                for s in scanners:
                    at = (3, 2) if s.startswith("toolreg") else (0, 3)
                    cells.append(f"{cell(rs, s, at[0])} · {cell(rs, s, at[1])}")
                name = st + (" (unseen)" if st in UNSEEN else "")
                print(f"| {name} | {label} | {len(rs)} | " + " | ".join(cells) + " |")


def main():
    args = sys.argv[1:]
    out = None
    if len(args) >= 2 and args[0] == "--jsonl":
        out, args = args[1], args[2:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    rows = scan_all(args)
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    summarise(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
