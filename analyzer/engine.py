"""The analysis engine: bundle → per-host detector runs → ordered findings and checks.

>>> import analyzer
>>> r = analyzer.analyze("sample_data/port-conflict.zip")      # doctest: +SKIP
>>> r.findings[["id", "severity", "host", "summary"]]          # doctest: +SKIP
>>> r.checks[r.checks.status == "not-evaluated"]                # doctest: +SKIP

Every detector runs once per host and yields one check (``fail`` / ``pass`` /
``not-evaluated``). Findings are then linked — a finding that explains another (a port
conflict explains the listener being down) gets ``explains``, the explained one
``explained_by`` — and ordered so that each root cause comes first, followed by what it
explains. Tuning (``rdpdoctor.toml``, Hayabusa-style) disables ids, changes severities and
thresholds.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pandas as pd

from . import __version__
from . import timeline as tl_mod
from .bundle import Bundle, Limits, load
from .safetext import printable
from .detectors import (DEFAULT_PARAMS, REGISTRY, ROOT_CAUSES, Context, NotEvaluated, Passed, finding_order,
                        empty_config, load_all)
from .findings import SEVERITIES, SEVERITY_RANK, Check, Finding, Report


class TuningError(ValueError):
    """The tuning file is not valid (unknown id, severity or parameter)."""


#: The largest value a ``[params]`` setting takes (hours, minutes, counts alike).
MAX_PARAM = 1_000_000


@dataclass(frozen=True)
class Tuning:
    """Hayabusa-style tuning: which detectors run, at which severity, with which thresholds.

    TOML form::

        [detectors]
        disable = ["nla-required", "port-nondefault"]

        [severity]
        "host-sleeps" = "critical"

        [params]
        brute_force_min_failures = 20
    """

    disabled: frozenset[str] = frozenset()
    severity: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Tuning":
        load_all()
        unknown_sections = set(d) - {"detectors", "severity", "params"}
        if unknown_sections:
            raise TuningError(f"unknown section(s): {', '.join(sorted(unknown_sections))}")
        for name in ("detectors", "severity", "params"):
            if name in d and not isinstance(d[name], dict):
                raise TuningError(f"[{name}] must be a table (a [{name}] section), "
                                  f"not {type(d[name]).__name__}")
        dis = (d.get("detectors") or {}).get("disable") or []
        if not isinstance(dis, list):
            raise TuningError("[detectors] disable must be a list of finding ids")
        for i in dis:
            if not isinstance(i, str) or i not in REGISTRY:
                raise TuningError(f"unknown finding id in [detectors] disable: {i!r}")
        sev = dict(d.get("severity") or {})
        for i, s in sev.items():
            if i not in REGISTRY:
                raise TuningError(f"unknown finding id in [severity]: {i!r}")
            if s not in SEVERITIES:
                raise TuningError(f"[severity] {i}: {s!r} is not one of {', '.join(SEVERITIES)}")
        params = dict(d.get("params") or {})
        for k, v in params.items():
            if k not in DEFAULT_PARAMS:
                raise TuningError(f"unknown parameter in [params]: {k!r} (known: "
                                  f"{', '.join(sorted(DEFAULT_PARAMS))})")
            # (TOML has nan and inf: a detector then failed on the window; found by review.
            # The bound keeps hours and minutes inside a time span pandas can hold)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) \
                    or not 0 < v <= MAX_PARAM:
                raise TuningError(f"[params] {k} must be a positive number up to {MAX_PARAM:,}")
        return cls(disabled=frozenset(dis), severity=sev, params=params)

    @classmethod
    def from_toml(cls, path: str | Path) -> "Tuning":
        try:
            with open(path, "rb") as fh:
                raw = fh.read((1 << 20) + 1)
        except OSError as e:
            raise TuningError(f"{path}: {e.strerror or e}") from None
        if len(raw) > 1 << 20:
            raise TuningError(f"{path}: larger than 1 MiB (a tuning file is a few lines)")
        # what Windows editors and PowerShell write too: UTF-16 (PowerShell 5.1's `>`),
        # UTF-8 with a BOM (Notepad, Set-Content -Encoding utf8)
        enc = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
        try:
            d = tomllib.loads(raw.decode(enc))
        except UnicodeDecodeError:
            raise TuningError(f"{path}: not UTF-8 or UTF-16 text") from None
        except tomllib.TOMLDecodeError as e:
            raise TuningError(f"{path}: {e}") from None
        return cls.from_dict(d)


# ----------------------------------------------------------------------------- result

FINDING_COLUMNS = ["id", "severity", "host", "title", "summary", "remedy", "references",
                   "evidence_count", "explained_by"]
CHECK_COLUMNS = ["id", "host", "status", "missing", "note"]


@dataclass
class AnalysisResult:
    """What :func:`analyze` returns: the Report plus the frames it was computed from."""

    report: Report
    bundle: Bundle | None
    timeline: pd.DataFrame
    config: pd.DataFrame
    inventory: pd.DataFrame

    @property
    def findings(self) -> pd.DataFrame:
        rows = [{"id": f.id, "severity": f.severity, "host": f.host, "title": f.title,
                 "summary": f.summary, "remedy": f.remedy, "references": list(f.references),
                 "evidence_count": f.evidence_total or len(f.evidence),
                 "explained_by": f.explained_by} for f in self.report.findings]
        return pd.DataFrame(rows, columns=FINDING_COLUMNS)

    @property
    def checks(self) -> pd.DataFrame:
        rows = [{"id": c.id, "host": c.host, "status": c.status, "missing": list(c.missing),
                 "note": c.note} for c in self.report.checks]
        return pd.DataFrame(rows, columns=CHECK_COLUMNS)

    @property
    def ids(self) -> set[str]:
        return {f.id for f in self.report.findings}

    def max_severity(self) -> str | None:
        return self.report.max_severity()

    def filtered(self, min_severity: str | None) -> "AnalysisResult":
        """A copy whose report keeps only findings at or above ``min_severity``."""
        if not min_severity or min_severity == SEVERITIES[0]:
            return self
        floor = SEVERITY_RANK[min_severity]
        keep, hidden = [], {}
        for f in self.report.findings:
            if SEVERITY_RANK[f.severity] >= floor:
                keep.append(f)
            else:
                hidden.setdefault((f.id, f.host), []).append(f.severity)
        if not hidden:
            return self
        gone = {(i, h) for i, h in hidden}
        # links to a hidden finding go: a shown consequence of a hidden cause is a root
        keep = [replace(f, explains=[e for e in f.explains if (e, f.host) not in gone],
                        explained_by=None if (f.explained_by, f.host) in gone else f.explained_by)
                for f in keep]
        checks = []
        for c in self.report.checks:
            sev = hidden.get((c.id, c.host))
            if sev and c.status == "fail":
                n = len(sev)
                note = (f"{n} {'/'.join(dict.fromkeys(sev))} finding{'s' if n > 1 else ''} "
                        f"below --min-severity {min_severity}, not shown")
                c = replace(c, note=f"{c.note}; {note}" if c.note else note, hidden=sev)
            checks.append(c)
        # a consequence freed from its hidden cause is a root now: order them all again, so
        # JSON findings[0] is the verdict's root cause
        keep = link_and_order(keep)
        return replace(self, report=replace(self.report, findings=keep, checks=checks))

    def to_dict(self) -> dict[str, Any]:
        return self.report.to_dict()

    def to_json(self) -> bytes:
        """Canonical JSON (the output contract of KNOWLEDGE.md Part A), deterministic."""
        return orjson.dumps(self.report.to_dict(), default=_json_default,
                            option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n"


def _json_default(o):
    if isinstance(o, pd.Timestamp):
        return o.isoformat()
    if hasattr(o, "item"):
        return o.item()
    return str(o)


# ----------------------------------------------------------------------------- engine


def analyze(path, *, evtx_backend: str = "auto", relevant_only: bool = True, workers: int = 1,
            tuning: Tuning | None = None, limits: Limits | None = None,
            progress=None) -> AnalysisResult:
    """Load the bundle at ``path`` and run every detector on every host."""
    b = load(path, evtx_backend=evtx_backend, relevant_only=relevant_only, limits=limits,
             workers=workers, progress=progress)
    return analyze_bundle(b, tuning=tuning)


def _config_input(bundle: Bundle) -> SimpleNamespace:
    """What ``analyzer.config.effective_config`` needs of a bundle: its hosts and the
    timeline rows of ``analyzer.config.INPUT_EVENT_TYPES`` (registry values, keys and
    deletions, Group Policy settings), in timeline order. Cut here by position because that
    function selects them with boolean masks over the whole timeline, and such a mask
    copies every text column of a big Security log for a moment. (A cut of its own here
    left out the deletion rows — a ``"PortNumber"=-`` line did not cancel an earlier
    PortNumber under ``analyze`` — and later the empty keys.)"""
    from .config import INPUT_EVENT_TYPES

    tl = bundle.timeline
    groups = tl_mod.group_positions(tl["event_type"]) if len(tl) else {}
    pos = [groups[t] for t in INPUT_EVENT_TYPES if t in groups]
    rows = tl_mod.take(tl, tl_mod.union_positions(pos)) if pos else tl.iloc[0:0]
    return SimpleNamespace(timeline=rows, hosts=list(bundle.hosts))


def effective_config(bundle: Bundle) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """``bundle.config``, or an empty frame and a warning when it cannot be computed."""
    try:
        if getattr(bundle, "_config", None) is None and isinstance(bundle, Bundle):
            from . import config as _config

            bundle._config = _config.effective_config(_config_input(bundle))
        cfg = bundle.config
    except ImportError:
        return empty_config(), [{"source": "(analysis)", "locator": "",
                                 "message": "effective configuration not available "
                                            "(analyzer.config missing)"}]
    except Exception as e:  # a config bug must not stop the analysis
        return empty_config(), [{"source": "(analysis)", "locator": "",
                                 "message": f"effective configuration failed: "
                                            f"{type(e).__name__}: {e}"}]
    if cfg is None:
        return empty_config(), []
    return cfg, [dict(w) for w in cfg.attrs.get("warnings", [])]


def run_detectors(host: str, ctx: Context, tuning: Tuning) -> tuple[list[Finding], list[Check],
                                                                     list[dict[str, str]]]:
    findings, checks, warnings = [], [], []
    for det in REGISTRY.values():
        if det.id in tuning.disabled:
            continue
        try:
            out = det.run(ctx)
        except Exception as e:  # one detector's bug must not hide the others' results
            checks.append(Check(id=det.id, host=host, status="not-evaluated",
                                note=f"detector error: {type(e).__name__}: {e}"))
            warnings.append({"source": "(analysis)", "locator": f"detector {det.id}, host {host}",
                             "message": f"detector failed: {type(e).__name__}: {e}"})
            continue
        if isinstance(out, NotEvaluated):
            checks.append(Check(id=det.id, host=host, status="not-evaluated",
                                missing=out.missing, note=out.note))
            continue
        if isinstance(out, Passed):
            checks.append(Check(id=det.id, host=host, status="pass", note=out.note))
            continue
        out = list(out or [])
        sev = tuning.severity.get(det.id)
        for f in out:
            if sev:
                f.severity = sev
        findings.extend(out)
        checks.append(Check(id=det.id, host=host, status="fail" if out else "pass"))
    return findings, checks, warnings


def link_and_order(findings: list[Finding]) -> list[Finding]:
    """Link explained findings to their root cause (per host) and order roots first."""
    by_host: dict[str, dict[str, Finding]] = {}
    for f in findings:
        by_host.setdefault(f.host, {}).setdefault(f.id, f)
    for host, fs in by_host.items():
        for cause, effect in ROOT_CAUSES:
            a, b = fs.get(cause), fs.get(effect)
            if a is None or b is None or b.explained_by or a is b:
                continue
            if _explained_chain(a, fs, effect):      # never form a cycle
                continue
            b.explained_by = cause
            if effect not in a.explains:
                a.explains.append(effect)
    key = finding_order

    ordered: list[Finding] = []
    seen: set[int] = set()

    def emit(f: Finding):
        if id(f) in seen:
            return
        seen.add(id(f))
        ordered.append(f)
        children = [g for g in findings if g.host == f.host and g.explained_by == f.id]
        for g in sorted(children, key=key):
            emit(g)

    for f in sorted((f for f in findings if not f.explained_by), key=key):
        emit(f)
    for f in sorted(findings, key=key):        # anything left (defensive)
        emit(f)
    return ordered


def _explained_chain(f: Finding, fs: dict[str, Finding], target: str) -> bool:
    cur, hops = f, 0
    while cur is not None and cur.explained_by and hops < 50:
        if cur.explained_by == target:
            return True
        cur = fs.get(cur.explained_by)
        hops += 1
    return False


def _inventory_records(inv: pd.DataFrame) -> list[dict[str, Any]]:
    if inv is None or not len(inv):
        return []
    out = []
    for rec in inv.to_dict("records"):
        clean = {}
        for k, v in rec.items():
            if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
                clean[k] = None
            elif hasattr(v, "item"):
                clean[k] = v.item()
            else:
                clean[k] = v
        for k in ("records", "warnings"):
            clean[k] = int(clean.get(k) or 0)
        clean["reason"] = clean.get("reason") or ""
        out.append(clean)
    return out


def _rows_at(tl: pd.DataFrame, pos) -> pd.DataFrame:
    """The rows of ``tl`` at ascending positions ``pos`` (one host's). Without a copy when
    they are every row or one contiguous block: a one-host bundle's timeline is the bulk of
    the memory ``analyze`` uses, and a second copy of it would double that."""
    if pos is None:
        return tl.iloc[0:0]
    if len(pos) == len(tl):
        return tl
    if pos[-1] - pos[0] + 1 == len(pos):
        return tl.iloc[int(pos[0]):int(pos[-1]) + 1]
    return tl_mod.take(tl, pos)


def analyze_bundle(bundle: Bundle, tuning: Tuning | None = None) -> AnalysisResult:
    """Run every detector on every host of an already loaded bundle."""
    load_all()
    tuning = tuning or Tuning()
    cfg, warnings = effective_config(bundle)
    hosts = list(bundle.hosts) or ["UNKNOWN"]
    all_findings, all_checks = [], []
    tl = bundle.timeline
    by_host = tl_mod.group_positions(tl["host"], key=str.upper) if len(tl) else {}
    for host in hosts:
        ctx = Context.build(host, _rows_at(tl, by_host.get(host.upper())), cfg,
                            meta=bundle.meta.get(host, {}), inventory=bundle.inventory,
                            params=tuning.params, filtered=True)
        f, c, w = run_detectors(host, ctx, tuning)
        del ctx                 # its cached row selections go before the next host's are made
        all_findings += f
        all_checks += c
        warnings += w
    ordered = link_and_order(all_findings)
    all_checks.sort(key=lambda c: (c.host, c.id))
    try:
        from .bundle import accounting

        acc = accounting(bundle)
    except Exception:  # pragma: no cover - accounting is a footer, never fatal
        acc = {}
    report = Report(
        tool={"name": "rdpdoctor", "version": __version__},
        bundle=printable(str(bundle.path)), hosts=hosts, findings=ordered, checks=all_checks,
        inventory=_inventory_records(bundle.inventory),
        warnings=[w.as_dict() for w in bundle.warnings] + warnings,
        accounting=acc)
    return AnalysisResult(report=report, bundle=bundle, timeline=bundle.timeline, config=cfg,
                          inventory=bundle.inventory)
