"""Big event-log benchmark (issue 11; a generated Security log unless --kind says otherwise):
raw Rust iteration vs rdpdoctor, wall time and peak RSS, each row in its own child process.

    python benchmarks/perf_security.py                    # 1,000,000 generated records
    python benchmarks/perf_security.py --records 100000 --gen-dir /tmp/gen --markdown
    python benchmarks/perf_security.py --python           # add the pure-Python backend rows
    python benchmarks/perf_security.py --repeat 3         # best of 3 per row (noisy machines)
    python benchmarks/perf_security.py --only "parse rust workers=2,analyze"   # some rows
    python benchmarks/perf_security.py --kind system --records 100000   # System / LSM logs

Rows (ratios to row "rust raw", measured in the same run):

  rust raw                 evtx.PyEvtxParser(...).records_json() over the file (reference:
                           the binding's defaults, its reader threads one per core)
  rust raw threads=1       the same with number_of_threads=1 (what rdpdoctor's passes use;
                           on 2 cores it is the faster of the two)
  parse rust               parsers.evtx.parse, every record kept (full timeline), 1 process
  parse rust workers=N     the same, chunks split over an N-process pool (N = cores, ≤ 8)
  parse rust +relevance    relevance filter (decided before decoding), 1 process / N
  analyze                  analyzer.engine.analyze(bundle, workers=N) — what `rdpdoctor
                           analyze` does by default (-j 0 = one process per core; Arrow
                           memory from the C allocator, as the CLI sets it)
  analyze full timeline    the same with relevant_only=False

The bundle is a folder holding only the generated ``Security.evtx``. Peak RSS is the largest
maximum resident set of the run's processes (the child's VmHWM or, from wait4, any of its
pool workers): what `/usr/bin/time -v` reports.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _peak_rss_mib() -> float:
    from evtx_ingest import peak_rss_mib
    return peak_rss_mib()


def _cores() -> int:
    return min(8, os.cpu_count() or 1)


def _child(name: str, path: Path, bundle: Path) -> dict:
    """One run in this (fresh) process. Parse rows import the library before the clock
    starts, like the raw rows import ``evtx``: they measure load throughput. Analyze rows
    include every import: they are what ``rdpdoctor analyze`` costs end to end."""
    n = 0
    if name.startswith("rust raw"):
        from evtx import PyEvtxParser
        kw = {"number_of_threads": 1} if "threads=1" in name else {}
        t = time.perf_counter()
        for _r in PyEvtxParser(str(path), **kw).records_json():
            n += 1
    elif name.startswith("parse"):
        from parsers import evtx
        from parsers.base import ParseOptions
        rel = None
        if "relevance" in name:
            from analyzer import knowledge
            rel = knowledge.relevance()
        backend = "python" if "python" in name else "rust"
        workers = int(name.split("workers=")[1]) if "workers=" in name else 1
        t = time.perf_counter()
        res = evtx.parse(path, ParseOptions(evtx_backend=backend, relevance=rel, workers=workers))
        n = res.stats["records"] + sum(res.stats["dropped"].values())
    elif name.startswith("analyze"):
        t = time.perf_counter()
        from analyzer.timeline import use_system_allocator
        use_system_allocator()                # as the CLI does
        from analyzer.engine import analyze
        res = analyze(bundle, relevant_only="full" not in name, workers=_cores())
        # records read from the event log: kept in the timeline + dropped by relevance
        inv = res.inventory
        ev = inv[inv["kind"] == "evtx"]
        n = int(ev["records"].fillna(0).sum() + ev["dropped"].fillna(0).sum())
    return {"seconds": time.perf_counter() - t, "records": n, "rss": _peak_rss_mib()}


def run(name: str, path: Path, bundle: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", name, "--file", str(path), "--bundle", str(bundle)]
    with tempfile.TemporaryFile("w+") as errf:
        # the child prints one short JSON line; stderr goes to a file so no pipe can fill up
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        out = proc.stdout.read()
        errf.seek(0)
        err = errf.read()
    code = os.waitstatus_to_exitcode(status)
    rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    if code != 0:
        return {"name": name, "error": (err or "").strip().splitlines()[-1:] or [f"exit {code}"],
                "rss": rss}
    d = json.loads(out.strip().splitlines()[-1])
    # wait4's maxrss also covers the child's pool workers (the largest process of the tree)
    d.update(name=name, rss=max(d["rss"], rss))
    return d


#: The file name each kind of log has in the benchmark's bundle.
BUNDLE_NAMES = {"security": "Security.evtx", "system": "System.evtx",
                "rdp": "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--kind", default="security", choices=("security", "system", "rdp"),
                    help="which generated log: Security, System or "
                    "LocalSessionManager/Operational (evtx_ingest.GENERATORS)")
    ap.add_argument("--gen-dir", type=Path)
    ap.add_argument("--python", action="store_true", help="also the pure-Python backend")
    ap.add_argument("--no-analyze", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every row N times (the reference too), interleaved, and keep "
                    "each row's fastest: on a shared machine the noise only ever slows a run")
    ap.add_argument("--only", help="comma-separated run names to keep (the reference always "
                    "runs), e.g. 'parse rust workers=2,analyze'")
    ap.add_argument("--child")
    ap.add_argument("--file", type=Path)
    ap.add_argument("--bundle", type=Path)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(_child(a.child, a.file, a.bundle)))
        return 0

    from evtx_ingest import LOG_NAMES, machine
    gen = a.gen_dir or Path(tempfile.mkdtemp(prefix="rdpdoctor-perf-"))
    gen.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    # written by a child: a parent that had generated a big log in-process would pass its
    # resident high-water mark on to every row's process (Linux keeps it across fork/exec)
    path = Path(subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "from pathlib import Path; from evtx_ingest import generated_log; "
         "print(generated_log(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])))",
         str(ROOT / "benchmarks"), str(gen), a.kind, str(a.records)],
        check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    print(f"log {path} ready in {time.perf_counter() - t:.0f}s", file=sys.stderr)
    bundle = Path(tempfile.mkdtemp(prefix="rdpdoctor-bundle-"))
    member = bundle / BUNDLE_NAMES[a.kind]      # named as a collector saves it
    try:
        os.link(path, member)
    except OSError:
        shutil.copy(path, member)
    n = _cores()
    names = ["rust raw", "rust raw threads=1", "parse rust", f"parse rust workers={n}", "parse rust +relevance",
             f"parse rust +relevance workers={n}"]
    if a.python:
        names += ["parse python", f"parse python workers={n}", "parse python +relevance"]
    if not a.no_analyze:
        names += ["analyze", "analyze full timeline"]
    if a.only:
        keep = {x.strip() for x in a.only.split(",")}
        names = [x for x in names if x == "rust raw" or x in keep]
    try:
        rows = [run(n, path, bundle) for n in names]
        for _ in range(a.repeat - 1):
            for i, n in enumerate(names):
                r = run(n, path, bundle)
                if "error" not in r and ("error" in rows[i] or r["seconds"] < rows[i]["seconds"]):
                    r["rss"] = max(r["rss"], rows[i]["rss"])
                    rows[i] = r
    finally:
        shutil.rmtree(bundle, ignore_errors=True)
        if not a.gen_dir:
            shutil.rmtree(gen, ignore_errors=True)
    size = path.stat().st_size if path.exists() else 0
    ref = rows[0]
    print(machine())
    title = f"generated {LOG_NAMES[a.kind]}.evtx: {a.records:,} records, {size / 1e6:.0f} MB"
    head = ["run", "records", "wall s", "records/s", "× raw rate", "wall × raw", "peak RSS MiB"]
    body = []
    for r in rows:
        if "error" in r:
            body.append([r["name"], "failed: " + " ".join(r["error"])[:60], "", "", "", "",
                         f"{r['rss']:.0f}"])
            continue
        rate = a.records / r["seconds"]
        body.append([r["name"], f"{r['records']:,}", f"{r['seconds']:.1f}", f"{rate:,.0f}",
                     f"{rate / (a.records / ref['seconds']):.2f}",
                     f"{r['seconds'] / ref['seconds']:.2f}", f"{r['rss']:.0f}"])
    if a.markdown:
        print(f"\n**{title}**\n")
        print("| " + " | ".join(head) + " |")
        print("|---|" + "---:|" * (len(head) - 1))
        for b in body:
            print("| " + " | ".join(b) + " |")
    else:
        print(title)
        w = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
        print("  ".join(h.rjust(x) if i else h.ljust(x) for i, (h, x) in enumerate(zip(head, w))))
        for b in body:
            print("  ".join(c.rjust(x) if i else c.ljust(x) for i, (c, x) in enumerate(zip(b, w))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
