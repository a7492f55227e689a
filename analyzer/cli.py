"""``rdpdoctor``: a thin typer layer over the library. Data to stdout, progress to stderr.

Exit codes (all commands):
  0  success (for ``analyze``: no finding at or above ``--fail-on``)
  1  ``analyze --fail-on``: a finding at or above that severity; ``--strict``: data was lost
  2  wrong usage (unknown option, bad value, missing argument)
  3  the bundle cannot be opened (missing path, not readable)
  4  internal error (a bug: please report it with the bundle's inventory)
"""
from __future__ import annotations

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


BundleArg = Annotated[Path, typer.Argument(help="Bundle: folder, .zip, .tar(.gz) or a single file.",
                                           show_default=False)]
BackendOpt = Annotated[EvtxBackend, typer.Option("--evtx-backend", help="Event log reader.")]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", min=1, max=64,
                                      help="Parse files in this many processes.")]


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

    if fmt == "parquet" and out is None:
        raise err("--format parquet needs -o FILE", EXIT_USAGE)
    if fmt == "table":
        text = export.to_table(df)
    else:
        text = export.render(df, fmt, out)
    if text is not None:
        if out is None:
            sys.stdout.write(text)
        else:
            export.atomic_write_text(out, text)


@app.command()
def timeline(
    bundle: BundleArg,
    format: Annotated[TimelineFormat, typer.Option("--format", "-f", help="Output format.")] = TimelineFormat.table,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write to FILE instead of stdout.")] = None,
    evtx_backend: BackendOpt = EvtxBackend.auto,
    relevant_only: Annotated[bool, typer.Option("--relevant-only", help="Keep only events rdpdoctor uses.")] = False,
    jobs: JobsOpt = 1,
) -> None:
    """Print the normalized timeline of a bundle."""
    b = _load(bundle, evtx_backend, jobs, relevant_only)
    _write_frame(b.timeline, format.value, output)


@app.command()
def inventory(
    bundle: BundleArg,
    format: Annotated[TimelineFormat, typer.Option("--format", "-f", help="table, csv or jsonl.")] = TimelineFormat.table,
    evtx_backend: BackendOpt = EvtxBackend.auto,
    jobs: JobsOpt = 1,
) -> None:
    """List every file in a bundle: kind, parser, records, warnings, or why it was skipped."""
    b = _load(bundle, evtx_backend, jobs)
    if format.value not in ("table", "csv", "jsonl"):
        raise err("inventory supports --format table, csv or jsonl", EXIT_USAGE)
    _write_frame(b.inventory, format.value, None)


def _usage_error_types() -> tuple[type, ...]:
    try:                                         # typer >= 0.20 vendors click
        from typer._click import exceptions as E
    except ImportError:  # pragma: no cover
        from click import exceptions as E
    return E.UsageError, E.ClickException, getattr(E, "NoArgsIsHelpError", ())


def main(argv: list[str] | None = None) -> None:
    """Console entry point: usage errors are one line and exit 2; bugs exit 4, one line."""
    usage_error, click_error, no_args = _usage_error_types()
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
    except Exception as e:  # pragma: no cover - last resort, no traceback with customer data
        typer.echo(f"rdpdoctor: internal error: {type(e).__name__}: {e}", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
