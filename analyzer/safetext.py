"""Customer text made safe to show: a bundle's names and strings are untrusted. Control
characters and bidi overrides become visible escapes (``\\x1b``, ``\\u202e``), names the
file system holds as undecodable bytes become ``\\xNN``. Used by the intake (member names),
the reports (terminal, Markdown, HTML), the table export and batch summaries."""
from __future__ import annotations

import html
import re

#: Characters a name must not carry into a terminal or a report: C0/C1 controls (ESC
#: sequences clear the screen or set the window title; a newline forges report lines) and
#: the bidirectional overrides that reorder what is shown.
_C1_AND_BIDI = "\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
UNSAFE = re.compile(f"[\x00-\x1f{_C1_AND_BIDI}]")
#: :data:`UNSAFE` without tab, newline and CR, for multi-line text (an HTML excerpt).
UNSAFE_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_C1_AND_BIDI}]")


def escape_unsafe(m: re.Match) -> str:
    """An :data:`UNSAFE` character as the escape that shows it (``\\x1b``, ``\\u202e``)."""
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def html_text(s: str) -> str:
    """``s`` for HTML text or a quoted attribute: :data:`UNSAFE_TEXT` characters as visible
    escapes, then ``& < > " '`` as entities. Every string an HTML report shows goes through
    it (the report's ``e()``, the SVG chart's labels and tooltips)."""
    return html.escape(UNSAFE_TEXT.sub(escape_unsafe, s), quote=True)


def printable(s: str) -> str:
    """Valid UTF-8 text for any name (undecodable bytes shown as \\xNN escapes), with
    control characters shown as escapes too."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") \
            if _only_surrogate_escapes(s) else s.encode("utf-8", "backslashreplace").decode("utf-8")
    return UNSAFE.sub(escape_unsafe, s)


def _only_surrogate_escapes(s: str) -> bool:
    try:
        s.encode("utf-8", "surrogateescape")
        return True
    except UnicodeEncodeError:
        return False
