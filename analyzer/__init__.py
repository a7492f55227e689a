"""rdpdoctor's library: ``analyzer.load(bundle)`` and ``analyzer.analyze(bundle)``.

The same objects back the CLI, batch mode and notebooks::

    import analyzer
    b = analyzer.load("ticket.zip")        # .timeline, .inventory, .warnings, .config
    r = analyzer.analyze("ticket.zip")     # .findings, .checks, .timeline, .config, .inventory

The names are imported on first use (PEP 562): ``import analyzer`` alone does not load
pandas, so the console entry point (``analyzer.entry``) owns the process — Ctrl-C
included — before the heavy imports start.
"""
from __future__ import annotations

import importlib

_LAZY = {"load": ".bundle", "Bundle": ".bundle", "BundleError": ".bundle", "Limits": ".bundle"}
#: submodules reachable as attributes after a bare ``import analyzer`` (as when the package
#: imported them eagerly: ``analyzer.bundle.Limits`` in a notebook)
_SUBMODULES = frozenset({"batch", "bundle", "cli", "config", "detectors", "engine", "export",
                         "findings", "knowledge", "processes", "report", "rollup", "safetext",
                         "sample", "signals", "timeline"})


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name == "__version__":
        from importlib.metadata import PackageNotFoundError, version
        try:
            value = version("rdpdoctor")
        except PackageNotFoundError:  # running from a source tree without installation
            value = "0.0.0+src"
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_LAZY, *_SUBMODULES, "__version__"})


def analyze(path, **kwargs):
    """Load ``path`` and run every detector; see ``analyzer.engine.analyze``."""
    from .engine import analyze as _analyze

    return _analyze(path, **kwargs)


__all__ = ["load", "analyze", "Bundle", "BundleError", "Limits", "timeline", "__version__"]
