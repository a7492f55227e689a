"""A text file holding several command outputs one after another (``diag.log``).

Support scripts often run ``netstat -ano``, ``tasklist /svc``, ``qwinsta``, ``systeminfo``,
``powercfg /query``, ``change logon /query`` and ``reg query`` (or ``type`` a ``reg export``
file) into one file, with banners or prompts between them (``===== netstat -ano =====``,
``C:\\>qwinsta``). Each format parser reports where its blocks are (``block_spans``); this
module decodes the file once, collects the blocks, resolves overlaps (the longer block
wins), and parses each block with its parser, keeping original line numbers in ``locator``.

Rows are the format parsers' rows (their ``kind``: netstat, tasklist, qwinsta, systeminfo,
reg, powercfg, chglogon). A ``quser`` output and a ``qwinsta`` output of one capture are one
row per session wherever they stand in the file (:func:`_fold_quser`; ``stats["quser_merged"]``),
unless a time stamp line between them or their session lists show two captures.
``stats["blocks"]`` lists ``{"kind", "parser", "first_line", "last_line", "records",
"warnings"}`` per block (1-based, inclusive); ``meta`` merges the blocks' hints (the first
``host`` found wins). Lines outside every block are counted in ``stats["unclaimed_lines"]``.

The file is sniffed as a textlog when its head holds blocks of at least two different kinds;
a file with one kind goes to that kind's parser (which hands the file back here when the
rest of the file, beyond the sniffed head, holds other kinds too).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import chglogon, netstat, powercfg, qwinsta, regfile, regquery, systeminfo, tasklist
from . import text as T
from .base import (ParseOptions, ParseResult, ParserInfo, ParseWarning, conform, empty_frame,
                   warn)

INFO = ParserInfo(name="textlog", kind="textlog", text=True,
                  description="several command outputs (netstat, tasklist, qwinsta, "
                              "systeminfo, reg query, .reg text, powercfg, change logon "
                              "/query) in one text file",
                  sniffs="blocks of at least two different command outputs")

#: The format parsers, in the order their blocks are preferred on a tie.
FORMATS = (netstat, tasklist, qwinsta, systeminfo, regquery, regfile, powercfg, chglogon)


@dataclass
class Block:
    kind: str
    start: int      # 0-based first line
    end: int        # 0-based, exclusive
    module: Any = None


def find_blocks(lines: list[str], formats=FORMATS) -> list[Block]:
    """Non-overlapping blocks of known command outputs (of ``formats``), in file order."""
    cands: list[Block] = []
    for mod in formats:
        spans = getattr(mod, "block_spans", None)
        if spans is None:
            continue
        try:
            found = spans(lines)
        except Exception:  # a block finder bug must not hide the other formats
            continue
        for s, e in found:
            if e > s:
                cands.append(Block(mod.INFO.kind, s, e, mod))
    # longest first; a block overlapping an already chosen one is dropped
    order = {m.INFO.name: i for i, m in enumerate(formats)}
    cands.sort(key=lambda b: (-(b.end - b.start), order[b.module.INFO.name], b.start))
    chosen: list[Block] = []
    for b in cands:
        if all(b.end <= c.start or b.start >= c.end for c in chosen):
            chosen.append(b)
    return sorted(chosen, key=lambda b: b.start)


def sniff_text(text: str) -> bool:
    blocks = find_blocks(T.split_lines(text))
    return len({b.kind for b in blocks}) >= 2


#: The command lines that print each kind of output (a prompt or banner naming one of them
#: just above a block introduces it, whatever follows it in the file).
_COMMANDS = {
    "netstat": ("netstat",), "tasklist": ("tasklist",),
    "qwinsta": ("qwinsta", "query session", "quser", "query user"),
    "systeminfo": ("systeminfo",), "reg": ("reg query", "reg export", "regedit", "type "),
    "powercfg": ("powercfg",), "chglogon": ("change logon", "chglogon"),
}


#: A rule line of a banner box (``=====``), skipped on the way up to the line naming the
#: command (``=====`` / ``qwinsta /counter`` / ``=====``).
_RULE = re.compile(r"^\s*[=*#~_-]{3,}\s*$")
#: Markdown's heading (``## qwinsta``): a README's, not a script's banner — unless it ends
#: in a banner run itself (``### qwinsta ###``).
_HEADING = re.compile(r"^\s*#{1,6}\s+\S")
_BANNER_END = re.compile(r"[=*#~_-]{3,}\s*$")
#: Prompts and labels a script log puts over an output besides :data:`_NOISE`'s: a remote
#: PowerShell session's prompt (``[TS22]: PS C:\\Users\\adm>``) and a bracketed command
#: (``[netstat -ano]``).
_PROMPT_MORE = re.compile(r"^\s*\[[^\]]+\]:\s*PS\s+[A-Za-z]:\\[^>]*>|^\s*\[[^\]]+\]\s*$")


def _introduced(lines: list[str], b: Block) -> bool:
    """Whether the line above block ``b`` (at most 4 non-blank lines up, past time stamp
    lines and a banner box's rule lines) is a prompt, banner or script line naming the
    command that prints ``b``'s output (``reg.exe query`` as ``reg query``). A Markdown
    heading is none (a README's ``## qwinsta`` over a quoted table: found by review)."""
    seen = 0
    for k in range(b.start - 1, -1, -1):
        ln = lines[k].strip()
        if not ln:
            continue
        seen += 1
        if seen > 4:
            return False
        if _stamp(ln) is not None or _RULE.match(ln):
            continue
        low = ln.casefold().replace(".exe", "")
        if not any(w in low for w in _COMMANDS.get(b.kind, ())):
            return False
        if _HEADING.match(ln) and not _BANNER_END.search(ln):
            return False
        if _NOISE.match(ln) or _PROMPT_MORE.match(ln):
            return True
        # the command alone inside a banner box: a rule line right above it
        above = next((lines[j].strip() for j in range(k - 1, -1, -1) if lines[j].strip()), "")
        return bool(_RULE.match(above)) and any(low.startswith(w) for w in
                                                _COMMANDS.get(b.kind, ()))
    return False


def _chglogon_as_printed(text: str) -> bool:
    """The first line of ``text`` is chglogon's sentence as printed (``Session logins are
    currently ENABLED``, its state word in capitals)."""
    first = text.split("\n", 1)[0]
    return bool(chglogon._OPENING_AS_PRINTED.match(first)) and len(first) <= chglogon._MAX_LINE


_FENCE = re.compile(r"^\s{0,3}(?:```|~~~)")


def _fenced(lines: list[str]) -> set[int]:
    """Indexes of the lines inside Markdown code fences (```` ``` ```` or ``~~~``): an
    output there is quoted in a document (a README, a wiki page, a mail), never printed by
    the server — no command writes a fence line."""
    inside, out = False, set()
    for i, ln in enumerate(lines):
        if _FENCE.match(ln):
            inside = not inside
        elif inside:
            out.add(i)
    return out


#: Blocks :func:`sniff_deep` judges at most (a text of thousands of quoted tables, each
#: turned down, cost 50 s, in the serial intake too; the first real output of a log is
#: among its first blocks).
DEEP_BLOCKS = 256


def sniff_deep(text: str, introduced_only: bool = False) -> bool:
    """Whether a text nothing recognised by its first lines holds a known command output
    further down (the deeper look of ``analyzer.bundle``: a diag log whose ``reg query``
    follows pages of ``ipconfig /all``). A block counts when its parser would recognise the
    text that starts where the block starts — as if the file began there (the block and the
    20 lines after it) — or a prompt or banner naming its command stands just above it. Blocks alone are not enough: a source
    file or runbook that quotes one output line ("… session logins are ENABLED.") in a
    string is no command output (each format's sniff says what it needs to be one).

    A block inside a Markdown code fence never counts (see :func:`_fenced`).

    ``introduced_only``: only a block under a prompt or banner naming its command counts
    (``analyze.bundle`` asks so for a text shorter than the sniffed head: notes, READMEs,
    mails and runbooks of a few KB quote a qwinsta table in a code block, "Session logins
    are currently DISABLED" or a ``.reg`` snippet by their own shape, which made false
    critical findings — found by review; a script's log echoes its commands)."""
    if introduced_only:
        # (no command named anywhere: no block can be introduced — most notes end here,
        # without the block search: `analyze` of 500 notes of 29 KB, 5.5 → 4.2 s)
        low = text.casefold()
        if not any(w in low for ws in _COMMANDS.values() for w in ws):
            return False
    lines = T.split_lines(text)
    quoted = _fenced(lines)
    for b in find_blocks(lines)[:DEEP_BLOCKS]:
        if b.start in quoted:
            continue
        if introduced_only:
            if _introduced(lines, b):
                return True
            continue
        sniff_at = getattr(b.module, "sniff_text", None)
        if b.module is chglogon:
            # (its sniff takes a keyword line in a *short text* as the output: a text cut
            # at the block is no short text, so only the sentence as printed stands alone)
            sniff_at = _chglogon_as_printed
        try:
            if _introduced(lines, b) or (
                    sniff_at is not None and sniff_at("\n".join(
                        lines[b.start:min(b.end + 20, b.start + 400)]))):
                return True
        except Exception:  # a sniffer bug must not hide the other blocks
            continue
    return False


def parse_text(text: str, source: str, options: ParseOptions | None = None,
               line_offset: int = 0, *, file_end: bool = False) -> ParseResult:
    """``file_end``: ``text`` is a file's whole text, so its last block may be cut short
    (:func:`parsers.text.cut_line`): that block's parser is told, and whether the output
    was trimmed (a trimmed output's missing line break says nothing)."""
    lines = T.split_lines(text)
    blocks = find_blocks(lines)
    frames: list[pd.DataFrame] = []
    warnings: list[ParseWarning] = []
    meta: dict[str, Any] = {}
    infos: list[dict[str, Any]] = []
    claimed = 0
    parsed: list[tuple[Block, int, int]] = []    # (block, its frame, its info)
    for b in blocks:
        # with the line end the file has after the block (a registry script without one
        # looks cut short)
        chunk = "\n".join(lines[b.start:b.end]) + ("\n" if b.end < len(lines) else "")
        at_end = {}
        if file_end and b.end == len(lines) and _knows_cuts(b.module):
            # (the output's own leading blank line — `\r\nActive Connections` — shows it
            # was not trimmed, whether the block starts on it or after it)
            untrimmed = chunk[:1].isspace() or (b.start and not lines[b.start - 1].strip())
            at_end = {"file_end": " " if untrimmed else text[:1] or " "}
        try:
            res = b.module.parse_text(chunk, source, options, line_offset=line_offset + b.start,
                                      **at_end)
        except Exception as e:  # one bad block must not lose the others
            warn(warnings, source, line_offset + b.start + 1,
                 f"{b.kind} block could not be parsed: {type(e).__name__}: {e}")
            continue
        claimed += b.end - b.start
        frames.append(res.frame)
        parsed.append((b, len(frames) - 1, len(infos)))
        warnings.extend(res.warnings)
        for k, v in res.meta.items():
            if v is not None:
                meta.setdefault(k, v)
        infos.append({"kind": b.kind, "parser": b.module.INFO.name,
                      "first_line": line_offset + b.start + 1, "last_line": line_offset + b.end,
                      "records": len(res.frame), "warnings": len(res.warnings)})
    folded = _fold_quser(lines, blocks, parsed, frames, infos, line_offset)
    frames = [f for f in frames if len(f)]
    frame = conform(pd.concat(frames, ignore_index=True)) if frames else empty_frame()
    if not blocks:
        warn(warnings, source, line_offset + 1, "no command output recognised in this text")
    left = [i for i, ln in enumerate(lines) if ln.strip()
            and not any(b.start <= i < b.end for b in blocks)]
    # (time stamp lines say when, for the quser fold: no data lost)
    unread = [i for i in left if not _NOISE.match(lines[i]) and _stamp(lines[i]) is None]
    if blocks and unread:
        warn(warnings, source, line_offset + unread[0] + 1,
             f"{len(unread)} line(s) outside every recognised command output, not read "
             f"({'line' if len(unread) == 1 else 'lines'} "
             f"{_ranges([line_offset + i + 1 for i in unread])})")
    stats = {"records": len(frame), "blocks": infos, "unclaimed_lines": len(left)}
    if folded:
        stats["quser_merged"] = folded
    return ParseResult(frame=frame, warnings=warnings, stats=stats, meta=meta, parser="textlog")


def _fold_quser(lines: list[str], blocks: list[Block], parsed, frames, infos,
                line_offset: int) -> int:
    """Fold each quser output into a qwinsta output of the same capture further away in
    the file (:func:`parsers.qwinsta.fold_quser`; one next to it, with only prompts and
    blank lines between, is one block already): ``quser``, ``ipconfig /all``, ``qwinsta``
    written by one script describe the same sessions, which must not count twice against
    a session limit. Kept apart when a time stamp line between the two (outside every
    output) tells another time than the one in force before the first of them
    (:func:`_stamps_apart`), or when their session lists contradict each other. The
    nearest qwinsta output that fits is taken (of the two above and two below). Returns the number of quser rows folded;
    the quser block's info says where they went (``folded_into_line``)."""
    from . import qwinsta as Q
    tables = [(b, fi, ii) for b, fi, ii in parsed if b.module is Q and len(frames[fi])]
    if len(tables) < 2:
        return 0
    owned = set()
    for b in blocks:
        owned.update(range(b.start, b.end))
    stamps = [(i, st) for i, ln in enumerate(lines)
              if i not in owned and (st := _stamp(ln)) is not None]
    total = 0
    for qb, qf, qi in tables:
        quser = frames[qf]
        if not len(quser) or not all('"command":"quser"' in (d or "") for d in quser["data"]):
            continue
        for wb, wf, _ in _nearest(tables, qb):
            if _stamps_apart(stamps, min(qb, wb, key=lambda b: b.start),
                             max(qb, wb, key=lambda b: b.start)):
                continue
            got = Q.fold_quser(quser, frames[wf])
            if got is None:
                continue
            frames[wf], n = got
            frames[qf] = quser.iloc[0:0]
            infos[qi].update(records=0, folded_into_line=line_offset + wb.start + 1)
            total += n
            break
    return total


def _nearest(tables, qb: Block, most: int = 2):
    """The ``most`` qwinsta tables nearest to block ``qb`` above it and as many below it,
    nearest first (a log of a thousand captures must not try every pair)."""
    k = next(i for i, t in enumerate(tables) if t[0] is qb)
    near = tables[max(k - most, 0):k] + tables[k + 1:k + 1 + most]
    return sorted(near, key=lambda t: min(abs(t[0].start - qb.end), abs(qb.start - t[0].end)))


#: A time of day (``10:00``, ``9:58:02``, ``10:00:01.23``, ``14:05:09,57``) with its
#: AM/PM (English; other languages' words are kept as words of the stamp).
_TIME = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,]\d{1,7})?(?![\d:])"
                   r"(?:\s*([AaPp])\.?[Mm]\.?\b)?")
#: A word of a time stamp line: a number with date/time separators, or a word of letters
#: (a weekday, a month, AM) — not a file name, a path, an address.
_STAMP_WORD = re.compile(r"^(?:[\d/.:,-]+|[^\W\d_]+(?:-[^\W\d_]+)?[.,:]?|T?\d[\dT:.+Z-]*)$")


def is_stamp(line: str) -> bool:
    """Whether ``line`` is a time stamp line (:func:`_stamp`)."""
    return _stamp(line) is not None


def _stamp(line: str) -> tuple[str, int] | None:
    """(date, seconds of the day) of a time stamp line — a line that is nothing but a date
    and time (``echo %date% %time%``: ``Tue 05/14/2024 10:00:01.23``, ``Get-Date``:
    ``Tuesday, May 14, 2024 10:00:01 AM``, ``time /t``), alone or in a prompt, banner or
    comment line (``===== qwinsta 2024-05-14 10:00:01 =====``) — or None. Lines of other
    outputs that hold a time (``ipconfig``'s ``Lease Obtained. . . : …``, a ``dir``
    listing's file lines) are no stamps."""
    if len(line) > 160 or ". ." in line:
        return None
    m = _TIME.search(line)
    if m is None:
        return None
    rest = line[:m.start()] + " " + line[m.end():]
    noise = bool(_NOISE.match(line))
    if not noise:
        words = [w for w in rest.split() if w]
        if len(words) > 6 or not all(_STAMP_WORD.match(w) for w in words):
            return None
    h, mi, sec = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h > 23 or mi > 59 or sec > 59:
        return None
    ampm = (m.group(4) or "").lower()
    if ampm and h <= 12:
        h = h % 12 + (12 if ampm == "p" else 0)
    # the date: its numbers ("" unless two: a day and a month or year). (Words are left
    # out: a banner's "quser" and "qwinsta", a month name in another language.)
    nums = re.findall(r"\d+", rest)
    return ("-".join(str(int(n)) for n in nums) if len(nums) >= 2 else ""), \
        h * 3600 + mi * 60 + sec


#: Two stamps further apart than this are two captures (one script runs its commands
#: within seconds of each other; `gpresult` may take a minute).
STAMP_SLACK_S = 300


def _stamps_apart(stamps: list[tuple[int, tuple[str, int]]], first: Block,
                  second: Block) -> bool:
    """Whether a time stamp between block ``first`` and block ``second`` tells another time
    (another date, or more than :data:`STAMP_SLACK_S` away) than the stamp in force before
    ``first`` — the last one above it, or else the first one between them."""
    before = [st for i, st in stamps if i < first.start]
    between = [st for i, st in stamps if first.end <= i < second.start]
    if not between:
        return False
    ref = before[-1] if before else between[0]
    for date, sec in between:
        if (date and ref[0] and date != ref[0]) or abs(sec - ref[1]) > STAMP_SLACK_S:
            return True
    return False


#: Lines between command outputs that hold no data: prompts (``C:\\>qwinsta``, ``PS C:\\>``),
#: banners (``===== netstat -ano =====``), script comments (``#``, ``REM``, ``::``).
#: (A banner run at the end is sought from run starts only: ``.*[=*#~_-]{3,}`` tried every
#: split of a long run, quadratic: 2 s for a line of 20,000 dashes.)
_NOISE = re.compile(r"^\s*(?:PS\s+)?[A-Za-z]:\\[^>]*>|^\s*[=*~_-]{3,}"
                    r"|.*?(?<![=*#~_-])[=*#~_-]{3,}+\s*+$"
                    r"|^\s*(?:#|::|REM\b)", re.IGNORECASE)


def _ranges(nums: list[int], most: int = 8) -> str:
    """``[3, 4, 5, 9]`` → ``3-5, 9`` (the first ``most`` runs, then ``...``)."""
    runs: list[list[int]] = []
    for n in nums:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in runs[:most])
    return text + (", ..." if len(runs) > most else "")


def _knows_cuts(module) -> bool:
    """Whether a block parser's ``parse_text`` judges a cut last line (``file_end``)."""
    import inspect
    try:
        return "file_end" in inspect.signature(module.parse_text).parameters
    except (TypeError, ValueError):
        return False


def sniff(head: bytes, name: str = "") -> bool:
    return T.sniff_head(head, sniff_text)


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    dec, warns, nbytes = T.read_file(path, options)
    res = parse_text(dec.text, str(path), options, file_end=True)
    res.warnings[:0] = warns
    res.stats["encoding"] = dec.encoding
    res.stats["bytes_read"] = nbytes
    return res
