"""The ``rdpdoctor`` console script. It imports nothing heavy itself: a Ctrl-C (or SIGTERM)
while pandas and the parsers are still being imported ends in the same one line and exit
code 130 as one during the run, instead of a traceback of the import machinery."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    try:
        from .signals import term_as_interrupt
        term_as_interrupt()
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
