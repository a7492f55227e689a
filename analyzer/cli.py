"""``rdpdoctor``: a thin typer layer over the library. Data to stdout, progress to stderr.

Exit codes (all commands):
  0  success (for ``analyze``: no finding at or above ``--fail-on``)
  1  ``analyze --fail-on``: a finding at or above that severity; ``--strict``: data was lost
     (also: the reader of stdout went away, ``| head``)
  2  wrong usage (unknown option, bad value, missing argument), or an output that cannot
     be written (stdout on a full disk, an unwritable -o)
  3  the bundle cannot be opened (missing path, not readable)
  4  internal error (a bug: please report it with the bundle's inventory)
"""
from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    name="rdpdoctor",
    help="Offline root-cause analysis of 'Remote Desktop can't connect' diagnostic bundles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,      # bundles hold customers' names and addresses
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_BUNDLE = 3
EXIT_INTERNAL = 4
#: ``batch``: finished, but some bundles were not analysed for a reason outside them (moved
#: away, a worker lost): sysexits' EX_TEMPFAIL, "try again later"
EXIT_AGAIN = 75
EXIT_BROKEN_PIPE = 141   # 128 + SIGPIPE: what a shell reports for `yes | head`


def err(msg: str, code: int) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    typer.echo(f"rdpdoctor: error: {msg}", err=True)
    return typer.Exit(code)


class EvtxBackend(str, Enum):
    auto = "auto"
    rust = "rust"
    python = "python"


class TimelineFormat(str, Enum):
    table = "table"
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"
    timesketch_csv = "timesketch-csv"
    timesketch_jsonl = "timesketch-jsonl"


class InventoryFormat(str, Enum):
    table = "table"
    csv = "csv"
    jsonl = "jsonl"


BundleArg = Annotated[Path, typer.Argument(help="Bundle: folder, .zip, .tar(.gz) or a single file.",
                                           show_default=False,
                                           readable=False)]   # unreadable: exit 3, ours
BackendOpt = Annotated[EvtxBackend, typer.Option("--evtx-backend", help="Event log reader.")]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", min=0, max=64,
                                      help="Processes for parsing (files in parallel, and a big "
                                           "event log split by chunks); 0 = one per CPU core "
                                           "(at most 8).")]


def _version_cb(value: bool) -> None:
    if value:
        import analyzer

        typer.echo(f"rdpdoctor {analyzer.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version_cb, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    """Offline root-cause analysis of 'Remote Desktop can't connect' diagnostic bundles."""
    from .timeline import use_system_allocator
    use_system_allocator()


def _progress_cb():
    """A rich progress bar on stderr when stderr is a terminal; else None."""
    if not sys.stderr.isatty():
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.console import Console

    prog = Progress(TextColumn("parsing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.description}"), console=Console(stderr=True), transient=True)
    task = prog.add_task("", total=None)

    def cb(done: int, total: int, source: str) -> None:
        prog.update(task, completed=done, total=total, description=source[-50:])

    return prog, cb


def _load(bundle: Path, backend: EvtxBackend, jobs: int, relevant_only: bool = False):
    import analyzer

    jobs = jobs or min(8, os.cpu_count() or 1)

    prog, cb = _progress_cb()
    try:
        if prog:
            with prog:
                return analyzer.load(bundle, evtx_backend=backend.value, workers=jobs,
                                     relevant_only=relevant_only, progress=cb)
        return analyzer.load(bundle, evtx_backend=backend.value, workers=jobs,
                             relevant_only=relevant_only)
    except analyzer.BundleError as e:
        raise err(str(e), EXIT_BUNDLE)
    except OSError as e:
        raise err(f"cannot read {bundle}: {e.strerror or e}", EXIT_BUNDLE)


def _write_frame(df, fmt: str, out: Optional[Path]) -> None:
    from . import export

    if fmt == "parquet" and (out is None or str(out) == "-"):
        raise err("--format parquet needs -o FILE", EXIT_USAGE)
    if out is None or str(out) == "-":
        # (a reader gone away or a full disk behind stdout: see main())
        sys.stdout.write(export.to_table(df) if fmt == "table" else export.render(df, fmt, None))
        return
    try:
        text = export.to_table(df) if fmt == "table" else export.render(df, fmt, out)
        if text is not None:
            export.atomic_write_text(out, text)
    except OSError as e:
        raise err(f"cannot write {out}: {e.strerror or e}", EXIT_USAGE)


@app.command()
def timeline(
    bundle: BundleArg,
    format: Annotated[TimelineFormat, typer.Option("--format", "-f", help="Output format.")] = TimelineFormat.table,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write to FILE instead of stdout.")] = None,
    evtx_backend: BackendOpt = EvtxBackend.auto,
    relevant_only: Annotated[bool, typer.Option("--relevant-only", help="Keep only events rdpdoctor uses.")] = False,
    jobs: JobsOpt = 0,
) -> None:
    """Print the normalized timeline of a bundle."""
    b = _load(bundle, evtx_backend, jobs, relevant_only)
    _write_frame(b.timeline, format.value, output)


@app.command()
def inventory(
    bundle: BundleArg,
    format: Annotated[InventoryFormat, typer.Option("--format", "-f", help="Output format.")] = InventoryFormat.table,
    evtx_backend: BackendOpt = EvtxBackend.auto,
    jobs: JobsOpt = 0,
) -> None:
    """List every file in a bundle: kind, parser, records, warnings, or why it was skipped."""
    b = _load(bundle, evtx_backend, jobs)
    _write_frame(b.inventory, format.value, None)


# ----------------------------------------------------------------------------- batch mode


@app.command()
def batch(
    inbox: Annotated[Path, typer.Argument(help="Folder of bundles (searched recursively), one bundle, or a list "
                                          "file of paths (a pipe too: '... | rdpdoctor batch /dev/stdin').",
                                          show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (reports, summary.parquet/csv, "
                                      "findings.parquet, resume state).", show_default=False)],
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=256,
                                      help="Bundles analysed at once (local process pool).")] = 1,
    scheduler: Annotated[Optional[str], typer.Option(
        "--scheduler", help="Dask scheduler address (tcp://host:8786): run on that cluster; its workers "
        "must see INBOX and OUTDIR at the same paths. Needs the dask extra: pip install 'rdpdoctor\\[dask]'.")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="Per-bundle reports: comma-separated "
                                        "json,html,markdown.")] = "json",
    glob: Annotated[Optional[str], typer.Option("--glob", help="Only bundles whose name matches, e.g. '*.zip'.")] = None,
    timeout_per_bundle: Annotated[float, typer.Option("--timeout-per-bundle", min=1,
                                                      help="Seconds before a bundle's worker is killed.")] = 900.0,
    memory_per_bundle: Annotated[int, typer.Option("--memory-per-bundle",
                                                   help="MiB of resident memory before a bundle's worker is killed "
                                                   "(at least 256).")] = 4096,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Analyse again bundles that failed before.")] = False,
) -> None:
    """Analyse many bundles, each in its own process; resumable; summary tables in OUTDIR.

    Failed bundles (corrupt, hung, out of memory) are recorded with the reason and the batch
    goes on; exit code 0 once the batch is complete, 2 for wrong usage or when OUTDIR cannot
    take the reports or the summary (full disk, read-only; those bundles are analysed again
    next run), 3 when INBOX does not exist or cannot be read.
    """
    from rich.console import Console

    from . import batch as B

    formats = [f.strip() for f in format.split(",") if f.strip()]
    bad = [f for f in formats if f not in B.FORMAT_SUFFIX]
    if bad or not formats:
        raise err(f"--format takes a comma-separated list of {', '.join(B.FORMAT_SUFFIX)}", EXIT_USAGE)
    if memory_per_bundle < B.MIN_MEMORY_MB:
        raise err(B.memory_error(memory_per_bundle), EXIT_USAGE)
    if scheduler is not None and not scheduler.strip():
        # an empty address ran locally without a word (found by review)
        raise err("--scheduler needs a Dask scheduler address such as tcp://host:8786", EXIT_USAGE)
    if not inbox.exists():
        raise err(f"no such file or folder: {inbox}", EXIT_BUNDLE)
    if out.exists() and not out.is_dir():
        raise err(f"--out {out}: exists and is not a folder", EXIT_USAGE)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise err(f"--out {out}: cannot create it: {e.strerror or e}", EXIT_USAGE)
    try:
        res = B.run(inbox, out, jobs=jobs, scheduler=scheduler, formats=formats, pattern=glob,
                    timeout=timeout_per_bundle, memory_mb=memory_per_bundle,
                    retry_failed=retry_failed, progress=sys.stderr.isatty())
    except B.BatchError as e:
        # README's table: 3 only when INBOX cannot be opened; a full or read-only OUTDIR is
        # an output that cannot be written (2), with or without --scheduler (found by review)
        raise err(str(e), EXIT_BUNDLE if isinstance(e, B.BatchInboxError) else EXIT_USAGE)
    c = res.counts
    for path, why in res.ignored:
        typer.echo(f"ignored: {path}: {why}", err=True)
    for note in res.notes:
        typer.echo(f"rdpdoctor: warning: {note}", err=True)
    if not c["bundles"]:
        typer.echo(f"rdpdoctor: warning: no bundle found in {inbox}"
                   + (f" matching --glob {glob!r}" if glob else ""), err=True)
    Console(soft_wrap=True).print(B.counts_table(res.summary))
    resumed_failed = (f", {c['resumed_failed']} of them failed before" if c.get("resumed_failed")
                      else "")
    typer.echo(f"{c['bundles']} bundles: {c['ok']} analysed ok, {c['failed']} failed, {c['skipped']} skipped "
               f"({c['resumed']} already done{resumed_failed}, {c['duplicates']} duplicates) in "
               f"{res.elapsed:.1f} s; see {res.outdir / 'summary.csv'}"
               + (f"; {len(res.ignored)} ignored (listed above)" if res.ignored else ""))
    failed = res.summary[res.summary["status"] == "failed"].drop_duplicates("path")
    for r in failed.itertuples(index=False):
        typer.echo(f"failed: {r.bundle_id}: {r.reason}", err=True)
    if c.get("outdir_faults"):
        # the machine's fault, not the bundles' (they are analysed again next run): a
        # wrapper (cron, CI) must not read the run as complete
        raise err(f"{c['outdir_faults']} bundle(s) could not be recorded: OUTDIR {res.outdir} "
                  "cannot take their reports (full disk, or no folder where one must be)",
                  EXIT_USAGE)
    if c.get("transient"):
        # nor is a run complete whose bundles went out of reach or lost their worker: a
        # wrapper that retries on a non-zero exit analyses exactly those again
        raise err(f"{c['transient']} bundle(s) could not be analysed for a reason outside them "
                  "(moved away, out of reach, a worker lost): run the batch again to analyse "
                  "them", EXIT_AGAIN)


class SummaryView(str, Enum):
    week = "week"
    host = "host"
    os = "os"
    all = "all"


@app.command()
def summarize(
    outdir: Annotated[Path, typer.Argument(help="An OUTDIR written by 'rdpdoctor batch'.", show_default=False)],
    by: Annotated[SummaryView, typer.Option("--by", help="Which rollup to print.")] = SummaryView.all,
    min_severity: Annotated[str, typer.Option("--min-severity", help="info, warning, error or critical.")] = "warning",
    include_explained: Annotated[bool, typer.Option("--include-explained",
                                                    help="Also count findings another finding explains.")] = False,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also save a chart of root causes by week (PNG/SVG).")] = None,
) -> None:
    """Root causes across the tickets of a batch: counts by finding id per week and per host."""
    import pandas as pd

    from . import rollup
    from .findings import SEVERITIES

    if min_severity not in SEVERITIES:
        raise err(f"--min-severity must be one of {', '.join(SEVERITIES)}", EXIT_USAGE)
    try:
        summary, findings = rollup.load(outdir)
    except FileNotFoundError as e:
        raise err(str(e), EXIT_BUNDLE)
    f = rollup.root_causes(findings, min_severity, include_explained)
    st = rollup.status_counts(summary)
    typer.echo("bundles: " + ", ".join(f"{k} {v}" for k, v in st.items()))
    with pd.option_context("display.width", 200, "display.max_columns", 60, "display.max_rows", 500):
        if by in (SummaryView.week, SummaryView.all):
            w = rollup.by_week(f)
            typer.echo("\nroot causes by week (bundles; weeks start Monday, UTC):")
            typer.echo(w.to_string() if not w.empty else "(none)")
        if by in (SummaryView.host, SummaryView.all):
            h = rollup.by_host(f)
            typer.echo("\nroot causes by host (bundles):")
            typer.echo(h.to_string(index=False) if not h.empty else "(none)")
        if by in (SummaryView.os, SummaryView.all):
            o = rollup.by_os(f)
            typer.echo("\nroot causes by operating system (bundles):")
            typer.echo(o.to_string() if not o.empty else "(none)")
    if plot is not None:
        if plot.suffix.lower() not in (".png", ".svg", ".pdf"):
            raise err(f"--plot {plot}: the chart is written as .png, .svg or .pdf", EXIT_USAGE)
        try:
            rollup.plot_weekly(rollup.by_week(f), plot)
        except OSError as e:
            raise err(f"cannot write {plot}: {e.strerror or e}", EXIT_USAGE)
        typer.echo(f"\nchart written to {plot}", err=True)


from .report import RENDERERS as _RENDERERS  # noqa: E402

ReportFormat = Enum("ReportFormat", {k: k for k in _RENDERERS}, type=str)


class Severity(str, Enum):
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


#: -o FILE: the format follows the extension; anything else uses --format.
EXTENSION_FORMATS = {".json": "json", ".html": "html", ".htm": "html", ".md": "markdown",
                     ".markdown": "markdown", ".txt": "terminal", ".log": "terminal"}


def _format_for(path: Path, default: str) -> str:
    suffix = path.suffix.lower()
    if suffix and suffix not in EXTENSION_FORMATS and default == "terminal" \
            and (path.is_file() or not path.exists()):   # (a device or FIFO writes through)
        # `-o r.pdf` wrote terminal text under a PDF name: an unknown extension needs an
        # explicit --format
        raise err(f"-o {path}: no report format for '{suffix}' (use .json, .html, .md or .txt, "
                  "or say --format)", EXIT_USAGE)
    fmt = EXTENSION_FORMATS.get(suffix, default)
    return fmt if fmt in _RENDERERS else default


#: --out-dir DIR writes these (format, extension), named after the bundle.
OUT_DIR_FORMATS = (("json", ".json"), ("html", ".html"), ("markdown", ".md"))


def _report_stem(bundle: Path) -> str:
    """``ticket-1234.zip`` / ``.tar.gz`` / folder ``ticket-1234`` → ``ticket-1234``."""
    name = bundle.resolve().name if bundle.name in ("", ".", "..") else bundle.name
    for ext in (".tar.gz", ".tgz", ".tar", ".zip"):
        if name.lower().endswith(ext) and len(name) > len(ext):
            name = name[: -len(ext)]
            break
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in name).strip(".") or "report"


@app.command()
def analyze(
    bundle: BundleArg,
    format: Annotated[ReportFormat, typer.Option("--format", "-f",
                                                 help="Output format for stdout (and for -o files "
                                                      "whose extension says nothing).")] = ReportFormat("terminal"),
    output: Annotated[Optional[list[Path]], typer.Option(
        "-o", "--output", help="Write the report to FILE; repeatable; the format follows the "
                               "extension (.json, .html, .md, .txt). With -o nothing goes to "
                               "stdout unless one of them is '-'.")] = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out-dir", file_okay=False,
        help="Write the JSON, HTML and Markdown reports into DIR as <bundle>.json/.html/.md.")] = None,
    min_severity: Annotated[Severity, typer.Option("--min-severity",
                                                   help="Show findings at or above this severity.")] = Severity.info,
    fail_on: Annotated[Optional[Severity], typer.Option(
        "--fail-on", help="Exit 1 when a finding at or above this severity exists.")] = None,
    config: Annotated[Optional[Path], typer.Option(
        "--config", exists=True, dir_okay=False,
        help="Tuning file (rdpdoctor.toml): disable ids, change severities and thresholds.")] = None,
    evtx_backend: BackendOpt = EvtxBackend.auto,
    jobs: JobsOpt = 0,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 1 when anything was lost: a damaged record, an unreadable byte "
                         "range, a refused or failed file.")] = False,
) -> None:
    """Find the root cause of 'Remote Desktop can't connect' in a bundle.

    Exit codes: 0 done (no finding at or above --fail-on), 1 --fail-on matched,
    2 usage error (also a bad --config), 3 bundle cannot be opened, 4 internal error.
    """
    from .engine import Tuning, TuningError, analyze_bundle
    from .report import render

    try:
        tuning = Tuning.from_toml(config) if config else None
    except (TuningError, OSError) as e:
        raise err(f"--config: {e}", EXIT_USAGE)
    b = _load(bundle, evtx_backend, jobs, relevant_only=True)
    result = analyze_bundle(b, tuning=tuning)
    shown = result.filtered(min_severity.value)
    fmt = format.value
    from .export import atomic_write_text

    to_stdout = not output or any(str(p) == "-" for p in output)
    targets = [(path, _format_for(path, fmt)) for path in output or [] if str(path) != "-"]
    if out_dir is not None:
        stem = _report_stem(bundle)
        targets += [(out_dir / f"{stem}{ext}", f) for f, ext in OUT_DIR_FORMATS]
    for path, ofmt in targets:
        try:
            text = render(shown, ofmt)
            atomic_write_text(path, text)
        except OSError as e:
            raise err(f"cannot write {path}: {e.strerror or e}", EXIT_USAGE)
        typer.echo(f"rdpdoctor: wrote {ofmt} report to {path}", err=True)
    if to_stdout and not (output is None and targets):     # --out-dir alone: files only
        if fmt == "terminal" and sys.stdout.isatty():
            from rich.console import Console

            from .report.terminal import print_rich

            print_rich(shown, Console())
        else:
            sys.stdout.write(render(shown, fmt))
    if strict:
        acc = result.report.accounting or {}
        if acc.get("lost"):
            typer.echo(f"rdpdoctor: --strict: data was lost ({acc.get('summary', '')})", err=True)
            raise typer.Exit(EXIT_FINDINGS)
    if fail_on is not None:
        from .findings import SEVERITY_RANK

        top = result.max_severity()
        if top is not None and SEVERITY_RANK[top] >= SEVERITY_RANK[fail_on.value]:
            raise typer.Exit(EXIT_FINDINGS)


@app.command()
def detectors(
    format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """List every detector: id, severity, inputs and references."""
    import orjson

    from .detectors import load_all

    regs = load_all()
    rows = [{"id": d.id, "severity": d.severity, "area": d.area, "title": d.title,
             "inputs": list(d.inputs), "references": list(d.references)} for d in regs.values()]
    if format == "json":
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if format != "table":
        raise err("detectors supports --format table or json", EXIT_USAGE)
    w = max(len(r["id"]) for r in rows)
    for r in rows:
        typer.echo(f"{r['id']:<{w}}  {r['severity']:<8}  {r['area']:<13}  "
                   f"inputs: {', '.join(r['inputs'])}  refs: {', '.join(r['references'])}")


@app.command()
def explain(finding_id: Annotated[str, typer.Argument(help="A finding id, e.g. port-conflict.")]) -> None:
    """What a finding means, how it is detected, what it needs, and the fix."""
    from .detectors import FIXES, INPUTS, load_all

    regs = load_all()
    d = regs.get(finding_id)
    if d is None:
        raise err(f"unknown finding id {finding_id!r}; see `rdpdoctor detectors`", EXIT_USAGE)
    typer.echo(f"{d.id} ({d.severity}): {d.title}\n")
    typer.echo(d.doc.replace("``", "`") + "\n")      # (reST literals read as Markdown ones)
    # not "any of": port-conflict needs netstat *and* tasklist; `analyze` says what is missing
    typer.echo("Reads: " + "; ".join(INPUTS.get(i, "any event log") for i in d.inputs))
    typer.echo("References: " + ", ".join(d.references))
    typer.echo("Fix: " + FIXES.get(d.id, "see the finding's remedy."))
    typer.echo("(Each finding carries numbered steps adapted to the Windows version: "
               "`rdpdoctor analyze BUNDLE`.)")


class ConfigFormat(str, Enum):
    table = "table"
    csv = "csv"
    jsonl = "jsonl"
    json = "json"


@app.command()
def config(
    bundle: BundleArg,
    format: Annotated[ConfigFormat, typer.Option("--format", "-f", help="Output format.")] = ConfigFormat.table,
    host: Annotated[Optional[str], typer.Option("--host", help="Only this host.")] = None,
    evtx_backend: BackendOpt = EvtxBackend.auto,
    jobs: JobsOpt = 0,
) -> None:
    """Print the effective RDP configuration per host: value, the source that decided
    (registry, policy key, or the winning GPO), the values it overrode, and defaults."""
    import orjson

    from . import config as cfgmod
    from . import export

    b = _load(bundle, evtx_backend, jobs)
    cfg = b.config
    if host:
        if host.upper() not in {str(h).upper() for h in b.hosts}:
            raise err(f"--host {host}: not in this bundle (hosts: "
                      f"{', '.join(b.hosts) or 'none'})", EXIT_USAGE)
        cfg = cfg[cfg["host"].astype(str).str.upper() == host.upper()]
    if format == ConfigFormat.table:
        sys.stdout.write(cfgmod.to_text(cfg))
    elif format == ConfigFormat.csv:
        out = cfg.copy()
        out["value"] = [orjson.dumps(v, default=str).decode() for v in out["value"]]
        out["overridden"] = [orjson.dumps(v, default=str).decode() for v in out["overridden"]]
        sys.stdout.write(export.spreadsheet_safe(out).to_csv(index=False))
    else:
        recs = cfg.to_dict("records")
        if format == ConfigFormat.json:
            sys.stdout.write(orjson.dumps(recs, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")
        else:
            sys.stdout.write("".join(orjson.dumps(r, default=str).decode() + "\n" for r in recs))


@app.command()
def sample(
    scenario: Annotated[Optional[str], typer.Argument(help="Scenario name (see --list).", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write to DIR, or to FILE.zip.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the scenarios and what each must produce.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Write every scenario as <name>.zip into -o DIR.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, byte-identical bundle.")] = 0,
) -> None:
    """Write a generated diagnostic bundle for a failure scenario (or --list them)."""
    from . import sample as smp

    if list_:
        for name in smp.scenario_names():
            sc = smp.SCENARIOS[name]
            expect = ", ".join(sorted(sc.expect)) or "-"
            typer.echo(f"{name:<30} {sc.os:<7} expect: {expect}")
            typer.echo(f"{'':<30} {'':<7} {sc.description}")
        return
    if output is None:
        raise err("-o DIR or -o FILE.zip is required", EXIT_USAGE)
    if not all_:
        if scenario is None:
            raise err("name a scenario (see 'rdpdoctor sample --list') or use --all", EXIT_USAGE)
        if scenario not in smp.SCENARIOS:
            raise err(f"unknown scenario {scenario!r} (see 'rdpdoctor sample --list')",
                      EXIT_USAGE)
    target = output
    try:
        if all_:
            output.mkdir(parents=True, exist_ok=True)
            for name in smp.scenario_names():
                target = output / f"{name}.zip"
                typer.echo(str(smp.write_bundle(name, target, seed=seed)))
        else:
            typer.echo(str(smp.write_bundle(scenario, output, seed=seed)))
    except OSError as e:
        if _stdout_failing():
            raise
        raise err(f"cannot write {target}: {e.strerror or e}", EXIT_USAGE)


def _usage_error_types() -> tuple[type, ...]:
    try:                                         # typer >= 0.20 vendors click
        from typer._click import exceptions as E
    except ImportError:  # pragma: no cover
        from click import exceptions as E
    return E.UsageError, E.ClickException, getattr(E, "NoArgsIsHelpError", ())


class _Watched:
    """Standard output that remembers a failed write: an OSError reaching main() is then
    told apart from one of reading the bundle or of a bug."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.failed: OSError | None = None

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as e:
            self.failed = e
            raise

    def flush(self):
        try:
            return self._stream.flush()
        except OSError as e:
            self.failed = e
            raise

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _stdout_failing() -> bool:
    return isinstance(sys.stdout, _Watched) and sys.stdout.failed is not None


def _drop_stdout() -> None:
    """Point stdout at the null device: the interpreter's last flush of what could not be
    written would print 'Exception ignored ...' after our one line."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):
        pass


def _utf8_stdout() -> None:
    """Output that is not UTF-8 (`> report.md` on Windows is cp1252, `LANG=C`) failed on the
    first '·' or '✖' — the tool's own — with exit 4 and nothing written. Redirected, it
    becomes UTF-8 (what JSON, HTML, Markdown and CSV readers expect; Python's UTF-8 mode,
    PEP 686, does the same); a terminal keeps its encoding and shows what it cannot print
    as escapes."""
    import codecs
    enc = getattr(sys.stdout, "encoding", None)
    try:
        if not enc or codecs.lookup(enc).name == "utf-8":
            return
        if sys.stdout.isatty():
            sys.stdout.reconfigure(errors="backslashreplace")
        else:
            sys.stdout.reconfigure(encoding="utf-8")
    except (AttributeError, LookupError, ValueError, OSError):   # not a TextIOWrapper
        pass


def main(argv: list[str] | None = None) -> None:
    """Console entry point: usage errors are one line and exit 2; bugs exit 4, one line."""
    usage_error, click_error, no_args = _usage_error_types()
    from .signals import term_as_interrupt
    term_as_interrupt()
    if sys.stdout is None:                       # started with stdout closed (`>&-`)
        sys.stdout = open(os.devnull, "w")
    _utf8_stdout()
    watched = sys.stdout = _Watched(sys.stdout)
    try:
        _main(argv, usage_error, click_error, no_args)
    except SystemExit:
        # click ends a broken pipe itself with exit 1 (standalone or not), the code
        # --fail-on uses for "a finding matched"; what was cut off was the output
        if isinstance(watched.failed, BrokenPipeError):
            _drop_stdout()
            sys.exit(EXIT_BROKEN_PIPE)
        raise
    finally:                                     # (a caller's stdout as it was: tests, -m)
        if sys.stdout is watched:
            sys.stdout = watched._stream


def _main(argv, usage_error, click_error, no_args) -> None:
    try:
        rv = app(args=argv, standalone_mode=False)
    except typer.Exit as e:                      # typer.Exit, --help
        sys.exit(e.exit_code)
    except typer.Abort:
        typer.echo("rdpdoctor: interrupted", err=True)
        sys.exit(130)
    except no_args as e:                         # bare `rdpdoctor`: show the help
        typer.echo(e.ctx.get_help() if getattr(e, "ctx", None) else "see rdpdoctor --help")
        sys.exit(EXIT_USAGE)
    except usage_error as e:                     # one line, no box, no traceback
        typer.echo(f"rdpdoctor: error: {e.format_message()} (see 'rdpdoctor --help')", err=True)
        sys.exit(EXIT_USAGE)
    except click_error as e:
        typer.echo(f"rdpdoctor: error: {e.format_message()}", err=True)
        sys.exit(getattr(e, "exit_code", 1))
    except KeyboardInterrupt:
        typer.echo("rdpdoctor: interrupted", err=True)
        sys.exit(130)
    except OSError as e:
        if not _stdout_failing():
            typer.echo(f"rdpdoctor: internal error: {type(e).__name__}: {e}", err=True)
            sys.exit(EXIT_INTERNAL)
        _drop_stdout()
        if isinstance(e, BrokenPipeError):       # `rdpdoctor timeline ... | head`
            sys.exit(EXIT_BROKEN_PIPE)           # not 1: that is --fail-on's "matched"
        # `> /dev/full`, a disk full behind stdout
        typer.echo(f"rdpdoctor: error: cannot write to standard output: {e.strerror or e}",
                   err=True)
        sys.exit(EXIT_USAGE)
    except Exception as e:  # pragma: no cover - last resort, no traceback with customer data
        typer.echo(f"rdpdoctor: internal error: {type(e).__name__}: {e}", err=True)
        sys.exit(EXIT_INTERNAL)
    if rv == 130:       # typer turns Ctrl-C (and SIGTERM, see above) into Exit(130) itself
        typer.echo("rdpdoctor: interrupted", err=True)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
