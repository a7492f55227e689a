"""Reporters: every output format renders the same ``analyzer.findings.Report``.

``RENDERERS`` is the format table: name → ``render(result) -> str`` where ``result`` is what
``analyzer.analyze`` returns (``.report`` is the Report; ``.timeline``, ``.config``,
``.inventory`` are there for formats that show them). JSON is the canonical form.
Reporter modules register themselves here by name; the CLI offers exactly these names.
"""
from __future__ import annotations

from importlib import import_module
from typing import Callable

#: format name → "module:function" (imported on first use, so a missing optional
#: dependency of one format never breaks another).
RENDERERS: dict[str, str] = {
    "json": "analyzer.report.jsonfmt:render",
    "terminal": "analyzer.report.terminal:render",
    "html": "analyzer.report.html:render",
    "markdown": "analyzer.report.markdown:render",
}


def renderer(name: str) -> Callable:
    mod, func = RENDERERS[name].split(":")
    return getattr(import_module(mod), func)


def render(result, fmt: str) -> str:
    return renderer(fmt)(result)
