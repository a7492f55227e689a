"""rdpdoctor's library: ``analyzer.load(bundle)`` and ``analyzer.analyze(bundle)``.

The same objects back the CLI, batch mode and notebooks::

    import analyzer
    b = analyzer.load("ticket.zip")        # .timeline, .inventory, .warnings, .config
    r = analyzer.analyze("ticket.zip")     # .findings, .checks, .timeline, .config, .inventory
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

from . import timeline
from .bundle import Bundle, BundleError, Limits, load

try:
    __version__ = _version("rdpdoctor")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+src"


def analyze(path, **kwargs):
    """Load ``path`` and run every detector; see ``analyzer.engine.analyze``."""
    from .engine import analyze as _analyze

    return _analyze(path, **kwargs)


__all__ = ["load", "analyze", "Bundle", "BundleError", "Limits", "timeline", "__version__"]
