"""``change logon /query`` (``chglogon /query``) output: whether the session host takes logons.

Input (recognised by content, never by file name): the one line ``change logon /query``
prints, alone in a file or inside a text of several command outputs (``parsers.textlog``),
with the prompt or banner around it. The state it tells:

* ``Session logins are currently ENABLED`` / ``Session logins are currently DISABLED``
  (after ``change logon /enable`` / ``/disable``). The ENABLED sentence is confirmed from
  real output: scripts on GitHub compare ``chglogon.exe /query`` output with it verbatim (a
  drain-mode script that runs ``chglogon.exe /drain`` only when the query printed "Session
  logins are currently ENABLED"; an RDS health runbook's "Expected: *Session logins are
  currently ENABLED*"; a change log noting that ``change logon /query`` printed it on
  Windows 11), and a backup script matches ``Session logins are currently\\s+(ENABLED|
  DISABLED)`` to confirm its own ``change logon /enable`` and ``/disable``: the DISABLED form
  follows that script, not a quoted output. Whether Windows Server 2003 prints the same
  sentence is not confirmed (its documentation says only "Displays the current logon
  status, whether enabled or disabled": TechNet bb490792); it is read on any version.
* **Drain mode** (2008 and later: ``/drain``, ``/drainuntilrestart``): no real output of
  the query in that state was found. The usage text of ``chglogon.exe`` (Windows 10 1903,
  quoted in strontic/xcyclopedia) words the modes "Disable new user logons, but allow
  reconnections to existing sessions" and "... until the server is restarted", and calls the
  state the "session login mode"; so a drain line is known by its words, not by a sentence:
  ``DRAIN`` in capitals, or "new user logons" with "reconnect"; "until" with "restart" makes
  it drain until restart. (A reported wording, "New user logons are DISABLED, but
  reconnections to existing sessions are ENABLED", reads as drain by these rules.)
* **Group Policy**: a line naming Group Policy (a reported wording: "Connections are
  currently ENABLED by Group Policy for this machine, unable to change.", not confirmed)
  marks the state as set by policy, which ``change logon`` cannot change.

Any other line that looks like this output — "session logins", "new user logons" or
"connections are currently … by Group Policy" with a capitalised ENABLED / DISABLED / DRAIN
— whose state cannot be told (both ENABLED and DISABLED and no drain words, or no state
word) is not guessed: a warning gives the line. No localized output was found quoted
anywhere; a localized file is not recognised (asked for again by the check that needs it).

A file cut inside its last line (no line break after it, where the command ends its line
with one): the confirmed sentence is read when its state word is whole (a warning says the
line may have gone on: "… DISABLED by Group Policy"); the keyword forms are not read there —
a cut ", but reconnections … ENABLED" turns drain into disabled.

Rows (``kind="chglogon"``, ``event_type="chglogon:state"``, ``time`` NaT — a state snapshot,
``host`` <NA>, ``locator`` ``line N``, ``message`` the line as printed). ``data``: ``state``
(``enabled`` | ``disabled`` | ``drain`` | ``drain-until-restart``), ``group_policy`` (True
when the line says Group Policy sets it), ``form`` (``sentence``: the confirmed "Session logins are currently …";
``keywords``: known by its words), ``text`` (the line as printed, stripped), ``cut`` (True
when read from a last line the file may end inside).

>>> r = parse_text("\\r\\nSession logins are currently DISABLED\\r\\n", "x")
>>> import json; d = json.loads(r.frame.loc[0, "data"]); (d["state"], d["group_policy"])
('disabled', False)
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from . import text as T
from .base import ParseOptions, ParseResult, ParserInfo, data_json, result_from_rows, warn

INFO = ParserInfo(name="chglogon", kind="chglogon", text=True,
                  description="`change logon /query` (chglogon /query): session logons "
                              "enabled, disabled, drain mode, set by Group Policy",
                  sniffs="'Session logins are currently ENABLED|DISABLED', or a short text "
                         "whose line names session / new user logons with a capitalised "
                         "ENABLED, DISABLED or DRAIN")

#: the confirmed sentence (the state word in capitals, as printed; a period tolerated)
_SENTENCE = re.compile(r"^\s*Session\s+log(?:in|on)s\s+are\s+currently\s+"
                       r"(?P<state>ENABLED|DISABLED)(?P<rest>\b.*?)\s*$", re.IGNORECASE)
#: the confirmed sentence's opening with its state word as printed (capitals) — or a
#: capitalised fragment (a file cut inside its state word): what makes a text this output (prose such as
#: "Session logins are currently enabled on all hosts" is not)
_OPENING_AS_PRINTED = re.compile(r"^\s*(?i:session\s+log(?:in|on)s\s+are\s+currently)\s+"
                                 r"(?:(?:ENABLED|DISABLED)\b|[A-Z]+\s*$)")
#: what makes a line look like this output (with a capitalised state word, below). Not
#: "connections are currently …" alone: a script's own check prints "Remote Desktop
#: connections are currently DISABLED" (fDenyTSConnections), which is no logon state
#: (found by review: a one-line status file raised a critical logons-disabled); it counts
#: only with the Group Policy note of the reported wording ("… by Group Policy for this
#: machine, unable to change": a script's "… DISABLED by Group Policy" is not it either).
_LIKE = re.compile(r"\bsession\s+log(?:in|on)s?\b|\bnew\s+user\s+log(?:in|on)s?\b"
                   r"|\bsession\s+log(?:in|on)\s+mode\b"
                   r"|\bconnections\s+are\s+currently\b.{0,40}?\bby\s+group\s+policy\b"
                   r".{0,40}?\b(?:for\s+this\s+machine|unable\s+to\s+change)\b",
                   re.IGNORECASE)
#: the state words chglogon prints in capitals (case-sensitive: prose says "disabled")
_CAPS = re.compile(r"\b(ENABLED|DISABLED|DRAIN(?:ING|ED)?|DRAINUNTILRESTART)\b")
_NEW_USER = re.compile(r"\bnew\s+user\s+log(?:in|on)s?\b", re.IGNORECASE)
_RECONNECT = re.compile(r"\breconnect", re.IGNORECASE)
_UNTIL_RESTART = re.compile(r"\buntil\b.{0,60}?\brestart|DRAINUNTILRESTART", re.IGNORECASE)
_GROUP_POLICY = re.compile(r"\bgroup\s+policy\b", re.IGNORECASE)
#: prompts, the command echoed, banners, script comments: no data, never warned about
_NOISE = re.compile(r"^\s*(?:PS\s+)?[A-Za-z]:\\[^>]*>|^\s*[=*~_#-]{3,}|^\s*(?:#|::|REM\b)"
                    r"|^\s*(?:change\s+logon|chglogon(?:\.exe)?)\s+/\w+\s*$", re.IGNORECASE)
_MAX_LINE = 300


def _looks_like(line: str) -> bool:
    """A line of this output (whether or not its state can be told)."""
    return len(line) <= _MAX_LINE and (bool(_OPENING_AS_PRINTED.match(line)) or (
        bool(_LIKE.search(line)) and bool(_CAPS.search(line))))


def read_line(line: str) -> dict[str, Any] | None:
    """The state a line tells — ``{"state", "group_policy", "form"}`` — or None when it is
    no line of this output or its state cannot be told (see :func:`_looks_like`)."""
    if len(line) > _MAX_LINE:
        return None
    gp = bool(_GROUP_POLICY.search(line))
    m = _SENTENCE.match(line)
    if m and not m.group("rest").strip(" .") and not gp:
        return {"state": m.group("state").lower(), "group_policy": False, "form": "sentence"}
    if not _looks_like(line):
        return None
    words = {w.upper() for w in _CAPS.findall(line)}
    drain = any(w.startswith("DRAIN") for w in words) or bool(
        _NEW_USER.search(line) and _RECONNECT.search(line))
    if drain:
        state = "drain-until-restart" if _UNTIL_RESTART.search(line) else "drain"
    elif words == {"ENABLED"}:
        state = "enabled"
    elif words == {"DISABLED"}:
        state = "disabled"
    else:
        return None
    return {"state": state, "group_policy": gp, "form": "keywords"}


def _is_line(line: str) -> bool:
    return read_line(line) is not None or _looks_like(line)


def sniff_text(text: str) -> bool:
    lines = T.split_lines(text)[:60]
    if any(_OPENING_AS_PRINTED.match(ln) and len(ln) <= _MAX_LINE for ln in lines):
        return True
    # keyword forms only in a short text (a transcript that quotes such a line is no output)
    full = [ln for ln in lines if ln.strip() and not _NOISE.match(ln)]
    return len(full) <= 20 and any(read_line(ln) for ln in full)


def block_spans(lines: list[str]) -> list[tuple[int, int]]:
    """Where ``change logon /query`` outputs are in a text of several command outputs."""
    spans: list[tuple[int, int]] = []
    for i, ln in enumerate(lines):
        if _is_line(ln):
            if spans and spans[-1][1] == i:
                spans[-1] = (spans[-1][0], i + 1)
            else:
                spans.append((i, i + 1))
    return spans


def parse_text(text: str, source: str, options: ParseOptions | None = None,
               line_offset: int = 0, *, file_end: bool | str = False) -> ParseResult:
    """``file_end``: the end of ``text`` is the end of the file (not of a block cut out of a
    longer text), so a last line without its line break may have been cut."""
    lines = T.split_lines(text)
    warnings: list = []
    open_end = len(lines) - 1 if file_end and lines and lines[-1].strip() and not \
        text.rstrip("\x1a").endswith(("\n", "\r")) else None
    rows: list[dict[str, Any]] = []
    states: list[str] = []
    unread: list[int] = []
    for k, ln in enumerate(lines):
        no = k + 1 + line_offset
        if not ln.strip():
            continue
        r = read_line(ln)
        if r is None:
            if _looks_like(ln):
                why = ("the file ends inside this line (no line break after it): "
                       if k == open_end else "")
                warn(warnings, source, no, f"{why}`change logon /query` line whose state is "
                                           f"not understood, not read: {ln.strip()!r}")
            elif not _NOISE.match(ln):
                unread.append(no)
            continue
        cut = k == open_end
        if cut and r["form"] != "sentence":
            warn(warnings, source, no, "the file ends inside this line (no line break after "
                                       "it, where the command ends its line with one): "
                                       f"{ln.strip()!r} may be cut (a cut drain line reads as "
                                       "disabled); not read")
            continue
        if cut:
            warn(warnings, source, no, "the file ends inside this line (no line break after "
                                       f"it): read as {r['state']}; what followed the state "
                                       "word (a Group Policy note) may be missing")
        d = {**r, "text": ln.strip(), "cut": cut}
        states.append(r["state"])
        rows.append({"kind": "chglogon", "event_type": "chglogon:state", "locator": f"line {no}",
                     "message": ln.strip(), "data": data_json(d)})
    if unread and rows:
        shown = ", ".join(str(n) for n in unread[:8]) + (", ..." if len(unread) > 8 else "")
        warn(warnings, source, unread[0], f"{len(unread)} line(s) that are no `change logon "
                                          f"/query` output, not read (line {shown})")
    if not rows and not warnings:
        warn(warnings, source, line_offset + 1, "no `change logon /query` output recognised"
             + (f" ({len(unread)} line(s) not read)" if unread else ""))
    return result_from_rows(rows, parser="chglogon", warnings=warnings,
                            stats={"states": states})


def sniff(head: bytes, name: str = "") -> bool:
    return T.sniff_head(head, sniff_text)


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    return T.parse_file(path, options, functools.partial(parse_text, file_end=True),
                        kind="chglogon")
