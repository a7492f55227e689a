"""Batch throughput: bundles per minute with 1 and 2 local workers, and the ratio.

    python benchmarks/batch.py [--bundles 40] [--jobs 1,2] [--workdir DIR]

Generates ``--bundles`` scenario bundles with ``analyzer.sample`` (every scenario in turn,
distinct seeds), then runs ``analyzer.batch.run`` over them once per worker count, each time
into a fresh OUTDIR (nothing resumed). The rate counts the whole run — pool start, the
per-worker zygote start, hashing, analysis, reports, summary files — as a user would see it.
On a machine shared with other work the ratio is noisy: run it twice.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def generate(inbox: Path, n: int) -> list[Path]:
    from analyzer import sample

    names = sorted(sample.SCENARIOS)
    inbox.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        name = names[i % len(names)]
        out.append(sample.write_bundle(name, inbox / f"{i:03d}-{name}.zip", seed=i, fmt="zip"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundles", type=int, default=40)
    ap.add_argument("--jobs", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the bundles and OUTDIRs here")
    args = ap.parse_args(argv)

    from analyzer import batch

    work = args.workdir or Path(tempfile.mkdtemp(prefix="rdpdoctor-bench-"))
    try:
        t0 = time.perf_counter()
        generate(work / "inbox", args.bundles)
        print(f"generated {args.bundles} bundles in {time.perf_counter() - t0:.1f} s "
              f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})", file=sys.stderr)
        rates: dict[int, float] = {}
        for jobs in [int(j) for j in args.jobs.split(",")]:
            out = work / f"out-{jobs}"
            shutil.rmtree(out, ignore_errors=True)
            t = time.perf_counter()
            res = batch.run(work / "inbox", out, jobs=jobs)
            dt = time.perf_counter() - t
            c = res.counts
            rates[jobs] = c["analysed"] * 60.0 / dt
            per = res.summary.drop_duplicates("path")
            print(f"{jobs} worker(s): {c['analysed']} bundles ({c['ok']} ok, {c['failed']} failed) "
                  f"in {dt:.1f} s = {rates[jobs]:.1f} bundles/min; median analysis "
                  f"{per['t_analyze'].median():.2f} s per bundle; load average {os.getloadavg()[0]:.1f}")
        if 1 in rates and len(rates) > 1:
            for j, r in rates.items():
                if j != 1:
                    print(f"ratio {j} workers / 1 worker: {r / rates[1]:.2f}x")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
