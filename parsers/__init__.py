"""Parsers: one module per input format, each a leaf (nothing from ``analyzer``).

``PARSERS`` is the registry, in sniffing order: binary signatures first, then structured
text, then command output. The first module whose ``sniff(head, name)`` is true reads the
file; the file name is only a hint. See ``parsers.base`` for the contract and the timeline
schema.
"""
from __future__ import annotations

from types import ModuleType

from . import gpresult_html, gpresult_text, regquery
from . import (chglogon, eventcsv, eventxml, evt, evtx, gpresult, hive, netstat, powercfg,
               qwinsta, regfile, systeminfo, tasklist, textlog)
from .base import (TIMELINE_COLUMNS, TIMELINE_DTYPES, ParseOptions, ParseResult, ParserError,
                   ParseWarning, Relevance, conform, empty_frame)

#: The registry, in sniffing order. ``textlog`` (several command outputs in one text file)
#: comes before the single-format text parsers; ``powercfg`` (power GUIDs, a 12-row table of
#: power timeouts) is the most specific of them, ahead of the looser table sniffers;
#: ``chglogon`` (one `change logon /query` line, in a short text) after it.
PARSERS: tuple[ModuleType, ...] = (
    evtx, evt, hive,                       # binary signatures
    regfile, gpresult, eventxml, eventcsv,  # structured text
    regquery, gpresult_html, gpresult_text,
    textlog, powercfg, chglogon, netstat, tasklist, qwinsta, systeminfo,  # command output
)


def identify(head: bytes, name: str = "") -> ModuleType | None:
    """The parser module for a file whose first bytes are ``head``, or None."""
    for mod in PARSERS:
        try:
            if mod.sniff(head, name):
                return mod
        except Exception:  # a sniffer bug must not hide the file from the others
            continue
    return None


def by_name(name: str) -> ModuleType:
    for mod in PARSERS:
        if mod.INFO.name == name:
            return mod
    raise KeyError(name)


__all__ = ["PARSERS", "identify", "by_name", "ParseOptions", "ParseResult", "ParseWarning",
           "ParserError", "Relevance", "TIMELINE_COLUMNS", "TIMELINE_DTYPES", "conform",
           "empty_frame"]
