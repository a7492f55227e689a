"""Regenerate the committed scenario bundles: ``python sample_data/regenerate.py``.

Equivalent to ``rdpdoctor sample --all -o sample_data/``; also rewrites SCENARIOS.md.
The bundles are a pure function of the generator and the seed (0), so a fresh clone can
rebuild them byte for byte; ``tests/test_sample.py`` checks they are up to date.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from analyzer.sample import SCENARIOS, scenario_names, write_bundle  # noqa: E402


def index() -> str:
    lines = ["# Generated scenario bundles", "",
             "Written by `python sample_data/regenerate.py` (seed 0) — do not edit by hand.",
             "Each zip is what a customer would send for one failure of KB2477023 (see",
             "`analyzer/sample/`). `expect` lists the finding ids the bundle must produce.", "",
             "| bundle | OS | host | expect | story |", "|---|---|---|---|---|"]
    for name in scenario_names():
        sc = SCENARIOS[name]
        lines.append(f"| `{name}.zip` | {sc.os} | {', '.join(sc.hosts)} | "
                     f"{', '.join(sorted(sc.expect)) or '—'} | {sc.description} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    for name in scenario_names():
        print(write_bundle(name, HERE / f"{name}.zip", seed=0).relative_to(HERE.parent))
    (HERE / "SCENARIOS.md").write_text(index(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
