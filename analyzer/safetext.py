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


# ----------------------------------------------------------------------- code spans
# The tool's own text (remedies, what to ask for, notes) marks commands as code with
# backticks, CommonMark style, and the reports show them as code. A customer's name inside
# such a command may hold backticks itself: :func:`code` fences the command so the data
# cannot close it, and :func:`code_spans` reads the spans back by the same rule.

_RUN = re.compile(r"`+")


def code(text: str) -> str:
    """``text`` as a code span: fenced with a backtick run of a length no run inside it has
    (CommonMark pairs only runs of equal length), padded with a space where it starts or
    ends with a backtick, so a backtick in the customer's data cannot end the span early."""
    runs = {len(r) for r in _RUN.findall(text)}
    n = 1
    while n in runs:
        n += 1
    pad = " " if text[:1] == "`" or text[-1:] == "`" or (
        len(text) > 1 and text[0] == text[-1] == " " and text.strip(" ")) else ""
    return f"{'`' * n}{pad}{text}{pad}{'`' * n}"


def code_spans(text: str) -> list[tuple[bool, str]]:
    """``text`` as (is_code, piece) pieces, by CommonMark's code-span rule within a line: a
    run of n backticks opens a span that only the next run of exactly n backticks closes;
    a run with no such closer is literal text. A span's content loses one space at each end
    when it has one at both (the padding :func:`code` adds)."""
    out: list[tuple[bool, str]] = []
    plain = 0                                   # start of the text not yet emitted
    for line in re.finditer(r"[^\n]*\n?", text):
        runs = [(m.start(), m.end()) for m in _RUN.finditer(text, line.start(), line.end())]
        nxt: dict[int, int] = {}                # run index → the next run of its length
        last: dict[int, int] = {}
        for k in range(len(runs) - 1, -1, -1):
            n = runs[k][1] - runs[k][0]
            if n in last:
                nxt[k] = last[n]
            last[n] = k
        k = 0
        while k < len(runs):
            close = nxt.get(k)
            if close is None:
                k += 1
                continue
            start, end = runs[k][0], runs[close][1]
            body = text[runs[k][1]:runs[close][0]]
            if len(body) > 1 and body[0] == body[-1] == " " and body.strip(" "):
                body = body[1:-1]
            if start > plain:
                out.append((False, text[plain:start]))
            out.append((True, body))
            plain = end
            k = close + 1
    if plain < len(text):
        out.append((False, text[plain:]))
    return out


#: Characters that no quoting makes literal on a cmd.exe line: ``"`` ends the quotes, ``%``
#: expands variables inside them, and a line break (or other control) ends the command.
_CMD_UNQUOTABLE = re.compile(f'["%\x00-\x1f\x7f]')


def cmd_arg(value: str) -> str | None:
    """``value`` (a service or image name from the customer's data) as one double-quoted
    cmd.exe argument, in which ``&``, ``|``, ``<``, ``>``, ``^`` and spaces are literal;
    None when it holds a character quoting cannot tame (no command is offered then)."""
    if not value or _CMD_UNQUOTABLE.search(value):
        return None
    return f'"{value}"'
