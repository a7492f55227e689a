"""The ``rdpdoctor`` console script. It imports nothing heavy itself: a Ctrl-C (or SIGTERM)
while pandas and the parsers are still being imported ends in the same one line and exit
code 130 as one during the run, instead of a traceback of the import machinery.

The heavy imports run with SIGINT and SIGTERM blocked, and a signal that came meanwhile is
taken as soon as they are done. Delivered in the middle of an extension module's
initialisation, the KeyboardInterrupt crashed the interpreter (orjson's init: SIGSEGV, about
one Ctrl-C in 40 in the first half second) or was swallowed by importlib ("Exception
ignored in _get_module_lock") and the run went on to exit 0."""
from __future__ import annotations

import sys

#: what every command imports first (pandas, pyarrow, orjson, lxml, the evtx bindings)
_HEAVY = ("analyzer.timeline", "parsers")


def _import_heavy(argv: list[str]) -> None:
    """Import the extension modules the commands need, with SIGINT/SIGTERM held back
    (POSIX; Windows has no signal mask). ``--help``/``--version`` alone import nothing."""
    if not argv or any(a in ("--help", "-h", "--version") for a in argv[:1]):
        return
    import importlib
    import signal
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):  # Windows, or not the main thread
        before = None
    try:
        for name in _HEAVY:
            importlib.import_module(name)
    finally:
        if before is not None:               # a pending signal is delivered here, in Python
            signal.pthread_sigmask(signal.SIG_SETMASK, before)


def main(argv: list[str] | None = None) -> None:
    try:
        from .signals import term_as_interrupt
        term_as_interrupt()
        _import_heavy(sys.argv[1:] if argv is None else list(argv))
        from .cli import main as cli_main
        cli_main(argv)
    except KeyboardInterrupt:    # cli.main() handles its own; this is the import window
        try:
            sys.stderr.write("rdpdoctor: interrupted\n")
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
