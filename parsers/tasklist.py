"""``tasklist`` output of Windows (XP/2003 … 11/2025), in any language and encoding.

Input: the default table, ``/v``, ``/svc`` (service lists wrapped onto continuation lines
indented to the Services column, trailing commas, ``N/A``; after a list that ends with a comma
a line of names without its indent, as a copy from a web page has it, goes on with the list,
and such a list at the end of the file was cut: a warning), ``/m`` (modules), ``/fo csv``
(with or without header, default / ``/v`` / ``/svc`` columns) and ``/fo list``. Column
positions come from the ``=`` ruler under the header (console columns: CJK characters count
two), never from the header text, so localized headers (the GBK Chinese one, German, Russian
...) parse; which column is which follows from the number of columns (3: ``/svc`` or ``/m``,
5: default, 9: ``/v``). Memory is read with any thousands separator (``55,928 K``,
``27.296 K``, ``1 234 Ko``); "not applicable" in any known language becomes None.

A file cut inside its last line (no line break after it, where tasklist ends every line with
one; a table output that does not begin with its blank line was trimmed and is not judged):
the field the line ends in is a fragment (PID ``99`` of 9952, ``TermServ``) unless blanks
follow it or its form shows it whole (``21,336 K``, ``N/A``) — a memory figure is whole
only with its unit (``32,``, ``32.`` or ``32 `` of ``32,144 K`` is cut), and blanks after the
first word(s) of a known value of several words (``Nicht `` of ``Nicht zutreffend``, ``NT `` of
``NT AUTHORITY\\SYSTEM``: :data:`_MULTI_WORD`) do not make it whole: it is left empty, kept in
``data["cut"]``, and a warning gives the line. A CSV line shows by its quotes whether it is
whole: its closed fields are read, the open one is not. A ``/fo list`` record the file
ends inside is read by the same rule, with the columns of the records before it (see
:func:`_list_records`). Lines inside a CSV block that are no quoted record are warnings, as
table lines are.

Rows (``kind="tasklist"``, ``event_type="proc:process"``, ``time`` NaT — a state snapshot):
``pid`` (Int64), ``session_id`` (Int64, ``Session#``), ``user`` (``/v``), ``locator``
``line N``; ``data``: ``image``, ``services`` (list; empty for ``N/A`` or without ``/svc``),
``session_name``, ``mem_kb`` (int), ``status`` (English: Running, Unknown, Not Responding,
when known) with ``status_original``, ``cpu_time``, ``window_title``, ``modules`` (``/m``),
``format`` (table, csv, list), ``variant`` (default, v, svc, m) and ``cut`` (see above).

>>> t = "Image Name  PID Services\\n=========== === ========\\nsvchost.exe 780 TermService\\n"
>>> parse_text(t, "x").frame.loc[0, "pid"]
np.int64(780)
"""
from __future__ import annotations

import csv
import functools
import io
import re
from pathlib import Path
from typing import Any

from . import text as T
from .base import ParseOptions, ParseResult, ParserInfo, data_json, result_from_rows, warn

INFO = ParserInfo(name="tasklist", kind="tasklist", text=True,
                  description="Windows tasklist: table, /v, /svc, /m, /fo csv, /fo list",
                  sniffs="an '=' ruler of 3/5/9 columns under a header (any language), or "
                         "quoted CSV / 'label: value' records of processes")

_RULER = re.compile(r"^\s*=+(?: +=+){2,}\s*$")

#: Column meaning by column count.
COLUMNS = {
    3: ("image", "pid", "services"),
    5: ("image", "pid", "session_name", "session_id", "mem"),
    9: ("image", "pid", "session_name", "session_id", "mem", "status", "user", "cpu_time",
        "window_title"),
}
_MODULE_HEADERS = ("modules", "module", "módulos", "modules", "модули", "模块", "モジュール",
                   "모듈", "moduli", "moduły")

STATUS = {}
for _en, _words in {
    "Running": ["Running", "Wird ausgeführt", "En cours d'exécution", "En cours d’exécution",
                "En ejecución", "Выполняется", "Работает", "正在运行", "実行中", "실행 중",
                "In esecuzione", "Em execução", "Wordt uitgevoerd", "Uruchomiony"],
    "Unknown": ["Unknown", "Unbekannt", "Inconnu", "Desconocido", "Неизвестно", "未知", "不明",
                "알 수 없음", "Sconosciuto", "Desconhecido", "Onbekend", "Nieznany"],
    "Not Responding": ["Not Responding", "Keine Rückmeldung", "Ne répond pas", "No responde",
                       "Не отвечает", "没有响应", "応答なし", "응답 없음", "Non risponde",
                       "Não está respondendo", "Reageert niet", "Nie odpowiada"],
}.items():
    for _w in _words:
        STATUS[_w.casefold()] = _en


#: Values of several words a row can end in (case-folded): "not applicable" in the languages
#: we know (Services, window title), the status words, and the /v user names of built-in
#: accounts (``NT AUTHORITY\\SYSTEM``, ``NT AUTHORITY\\NETWORK SERVICE``, ``Window
#: Manager\\DWM-1``, ``Font Driver Host\\UMFD-0``, French ``AUTORITE NT\\Système``). A file
#: cut after a blank inside one ("Nicht " of "Nicht zutreffend") ends in a word that is no
#: value. (A window title is free text: its words are not known.)
_MULTI_WORD = tuple(sorted({w for w in (*T.NOT_APPLICABLE, *STATUS) if " " in w} | {
    "nt authority\\", "nt authority\\network service", "nt authority\\local service",
    "window manager\\", "font driver host\\", "autorite nt\\", "autorité nt\\",
    "autorite nt\\service réseau", "autorité nt\\service réseau",
    "autorite nt\\service local", "autorité nt\\service local"}))


def _cut_in_words(value: str) -> bool:
    """``value`` (followed by a blank where the file was cut) is the first word(s) of a known
    value of several words, not a value."""
    v = value.casefold() + " "
    return any(w.startswith(v) for w in _MULTI_WORD)


def _services(value: str | None) -> list[str]:
    v = T.na(value)
    if v is None:
        return []
    return [s.strip() for s in v.split(",") if s.strip() and T.na(s) is not None]


def _is_pid(s: str | None) -> bool:
    """Digits of a 32-bit number (int() raises on 4,300 digits and more: found by fuzzing)."""
    return bool(s) and s.strip().isdecimal() and len(s.strip()) <= 10


def _record(fields: dict[str, str | None], variant: str, fmt: str, lineno: int) -> dict[str, Any]:
    g = lambda k: T.na(fields.get(k))  # noqa: E731
    image = (fields.get("image") or "").strip() or None
    pid = int(fields["pid"].strip()) if _is_pid(fields.get("pid")) else None
    data: dict[str, Any] = {"image": image, "format": fmt, "variant": variant}
    if fields.get("_cut"):
        data["cut"] = fields["_cut"]        # the fragment a cut file ends with, not read
    if variant == "m":
        data["modules"] = _services(fields.get("services"))
        data["services"] = []
    else:
        data["services"] = _services(fields.get("services"))
    sid = None
    if "session_name" in fields:
        data["session_name"] = g("session_name")
        s = (fields.get("session_id") or "").strip()
        sid = int(s) if _is_pid(s) else None
        data["mem_kb"] = T.parse_int(fields.get("mem"))
    user = None
    if "status" in fields:
        st = g("status")
        data["status"] = STATUS.get(st.casefold(), st) if st else None
        data["status_original"] = st
        user = g("user")
        data["user"] = user
        data["cpu_time"] = g("cpu_time")
        data["window_title"] = g("window_title")
    return {"kind": "tasklist", "event_type": "proc:process", "locator": f"line {lineno}",
            "pid": pid, "session_id": sid, "user": user, "_data": data,
            "message": _message(image, pid, data["services"])}


def _message(image: str | None, pid: int | None, services: list[str]) -> str:
    svc = ", ".join(services)
    return f"{image} pid {pid}" + (f" services {svc}" if svc else "")


# --------------------------------------------------------------------------- table


def _table_header(lines: list[str], i: int) -> tuple[list[tuple[int, int]], str] | None:
    """Columns of the ruler at ``lines[i]`` and the variant, or None when it is no ruler."""
    if not _RULER.match(lines[i]):
        return None
    cols = T.runs(lines[i])
    if len(cols) not in COLUMNS:
        return None
    variant = {3: "svc", 5: "default", 9: "v"}[len(cols)]
    if len(cols) == 3 and i > 0:
        hdr = T.slice_cols(lines[i - 1], cols[2][0]).strip().casefold()
        if hdr in _MODULE_HEADERS:
            variant = "m"
    return cols, variant


def _slice(line: str, cols: list[tuple[int, int]]) -> list[str]:
    out = []
    for k, (s, e) in enumerate(cols):
        # each column runs to the next one's start; the last one to the end of the line
        end = cols[k + 1][0] if k + 1 < len(cols) else None
        out.append(T.slice_cols(line, s, end).strip())
    return out


#: A row out of line with the ruler: image, PID, the rest. The image ends in a non-blank and
#: the blanks after it are taken whole (possessive), so a long run of blanks is passed over
#: once: ``.+?\s+`` retried it from each of its blanks (30,000 blanks in one line: 14 s,
#: run on every such line while sniffing too).
_MISALIGNED = re.compile(r"^(?P<image>.*?\S)\s++(?P<pid>\d+)(?:\s+(?P<rest>.*))?$")
#: The rest of a default / ``/v`` row: [session name] session# memory [/v columns].
_MISALIGNED_REST = re.compile(r"^(?:(?P<sn>.*?\S)\s++)?(?P<sid>\d+)\s+"
                              r"(?P<mem>[\d.,'\u00a0\u202f ]+\s*\S*)(?:\s+(?P<more>.*))?$")


def _split_row(line: str, cols: list[tuple[int, int]], names: tuple[str, ...]) -> dict | None:
    vals = _slice(line, cols)
    if _is_pid(vals[1]):
        return dict(zip(names, vals))
    # misaligned (pasted with other spacing): image is everything before the PID
    m = _MISALIGNED.match(line.strip())
    if not m:
        return None
    rest = (m.group("rest") or "").strip()
    f: dict[str, Any] = {"image": m.group("image"), "pid": m.group("pid")}
    if names[2] == "services":
        f["services"] = rest
        return f
    # (a session name is apart from the session number: "RDP-Tcp#0  2", not "RDP-Tcp#" "0")
    m2 = _MISALIGNED_REST.match(rest)
    if not m2:
        return None
    f.update(session_name=m2.group("sn") or "", session_id=m2.group("sid"), mem=m2.group("mem"))
    more = (m2.group("more") or "").strip()
    if "status" in names and more:
        tail = _v_tail(more)
        if tail is None:
            f["_lost"] = more            # the caller warns: status, user, CPU time, title
        else:
            f.update(tail)
    return f


_CPU_TIME = re.compile(r"(?:^|\s)(\d+:\d{2}:\d{2})(?:\s+(.*))?$")
_STATUS_WORDS = sorted(STATUS, key=len, reverse=True)


def _v_tail(more: str) -> dict[str, str] | None:
    """Status, user, CPU time and window title of a misaligned ``/v`` row: the CPU time
    (``0:01:23``) anchors the split, a known status word (any language we know) starts the
    text before it, the user name (which may hold spaces: ``NT AUTHORITY\\SYSTEM``) is the
    rest. None when either is not found."""
    m = _CPU_TIME.search(more)
    if not m:
        return None
    head = more[:m.start()].strip()
    low = head.casefold()
    for w in _STATUS_WORDS:
        if low.startswith(w) and (len(low) == len(w) or low[len(w)].isspace()):
            return {"status": head[:len(w)], "user": head[len(w):].strip(),
                    "cpu_time": m.group(1), "window_title": (m.group(2) or "").strip()}
    return None


def _is_continuation(line: str, cols: list[tuple[int, int]]) -> bool:
    """A /svc or /m line that continues the previous row's list."""
    if not line.strip() or len(cols) != 3:
        return False
    head = T.slice_cols(line, 0, cols[2][0])
    return not head.strip() and bool(T.slice_cols(line, cols[2][0]).strip())


#: A line that can only continue a ``/svc`` or ``/m`` list: service (or module) names and
#: the commas between them, nothing else. tasklist ends a wrapped list's line with a comma
#: and goes on in the Services column of the next line (``lsass.exe  656 HTTPFilter, kdc,``
#: / ``PolicyAgent, SamSs``); a copy from a web page or mail loses that line's leading
#: blanks (KB 314056's example as published: ``Services.exe 208 AppMgmt,Browser,Dhcp,`` /
#: ``Eventlog,LanmanServer,LanmanWorkstation,``, https://support.microsoft.com/kb/314056).
#: After a list that ends with a comma such a line is the list's next line.
_LIST_GOES_ON = re.compile(r"[\w.$@{}#~+()&'-]+(?:\s*,\s*[\w.$@{}#~+()&'-]+)*\s*,?")


def _ends_open(value: str | None) -> bool:
    """A /svc or /m list text that tasklist continues on the next line (a trailing comma)."""
    return bool(value) and value.rstrip().endswith(",")


def _list_goes_on(line: str, cols: list[tuple[int, int]], open_list: bool) -> bool:
    """``line`` continues the list of the row above it: in the Services column under blanks
    (:func:`_is_continuation`) or, after a list that ends with a comma, any line of names."""
    return _is_continuation(line, cols) or (
        open_list and len(cols) == 3 and len(line) <= 2000
        and _LIST_GOES_ON.fullmatch(line.strip()) is not None)


# --------------------------------------------------------------------------- csv

#: A ``/fo csv`` line: every field quoted. tasklist writes a quote inside a field (a
#: window title: ``Error "0x204" when connecting``) as it is, not doubled.
_CSV_LINE = re.compile(r'^\s*"(?:[^"]|"(?!,"))*"(?:,"(?:[^"]|"(?!,"))*")*\s*$')


def _csv_rows(lines: list[str], start: int) -> list[tuple[int, list[str]]]:
    out = []
    for k in range(start, len(lines)):
        ln = lines[k].strip()
        if not ln:
            continue
        # fields end at '","' (a raw quote inside one does not end it); '""' is one quote
        rec = [f.replace('""', '"') for f in ln[1:-1].split('","')]
        if len(rec) not in COLUMNS:
            try:
                rec = next(csv.reader(io.StringIO(ln)))
            except (csv.Error, StopIteration):
                rec = []
        out.append((k, rec))
    return out


def _csv_is_header(rec: list[str]) -> bool:
    return len(rec) >= 2 and not _is_pid(rec[1])


# --------------------------------------------------------------------------- list

_LABEL = re.compile(r"^(?P<label>[^\s:][^:]{0,40}?):\s*(?P<value>.*)$")


#: "INFO: No tasks are running which match the specified criteria." (an empty result of a
#: filtered tasklist, not a missing one) in the languages we know.
_NO_TASKS = re.compile(
    r"^\s*(INFO|INFORMATION|INFORMACIÓN|INFORMAZIONI|INFORMAÇÕES|ИНФОРМАЦИЯ|信息|情報|정보)\s*:\s*"
    r"(No tasks are running|Es werden keine Tasks|aucune tâche|no hay tareas|nessuna attività|"
    r"nenhuma tarefa|Задачи, отвечающие|没有运行的任务|指定された条件に一致するタスク|"
    r"지정된 조건과 일치하는)", re.IGNORECASE)


# --------------------------------------------------------------------------- API


def sniff_text(text: str) -> bool:
    lines = T.split_lines(text)[:400]
    if any(_NO_TASKS.match(ln) for ln in lines[:10]):
        return True
    for i, ln in enumerate(lines):
        if _table_header(lines, i) and i + 1 < len(lines):
            return True
    csvs = [ln for ln in lines[:50] if _CSV_LINE.match(ln)]
    if len(csvs) >= 2:
        recs = [r for _, r in _csv_rows(csvs, 0)]
        n = {len(r) for r in recs}
        data = [r for r in recs if len(r) > 1 and _is_pid(r[1])]
        if len(n) == 1 and n.pop() in COLUMNS and len(data) >= 1 and not any(
                _is_pid(r[0]) for r in data):
            return True
    return _list_records(lines[:60], 0, probe=True) >= 1


def block_spans(lines: list[str]) -> list[tuple[int, int]]:
    spans = []
    i, n = 0, len(lines)
    while i < n:
        hdr = _table_header(lines, i)
        if hdr:
            cols, _ = hdr
            start = i - 1 if i > 0 and lines[i - 1].strip() else i
            j = i + 1
            open_list = False
            while j < n and lines[j].strip():
                if _list_goes_on(lines[j], cols, open_list):
                    open_list = _ends_open(lines[j])
                elif (f := _split_row(lines[j], cols, COLUMNS[len(cols)])):
                    open_list = _ends_open(f.get("services"))
                else:
                    break
                j += 1
            if j > i + 1:
                # (a header with no process row under it is another table drawn the same
                # way: `whoami /all`'s privileges, "Privilege Name  Description  State" over
                # ===== rules, made a log a textlog by a 0-record block — review)
                spans.append((start, j))
            i = j
            continue
        if _CSV_LINE.match(lines[i]):
            j = i
            while j < n and _CSV_LINE.match(lines[j]):
                j += 1
            recs = [r for _, r in _csv_rows(lines[i:j], 0)]
            sizes = {len(r) for r in recs}
            if len(sizes) == 1 and next(iter(sizes)) in COLUMNS and any(
                    len(r) > 1 and _is_pid(r[1]) for r in recs):
                spans.append((i, j))
            i = j
            continue
        i += 1
    return spans


def _list_records(lines: list[str], line_offset: int, probe: bool = False,
                  rows: list | None = None, warnings: list | None = None,
                  source: str = "", cut: int | None = None,
                  open_end: int | None = None) -> int:
    """Parse ``/fo list`` records (blank-line separated ``label: value`` groups).

    ``cut``: the index of the file's last line when the file ends inside it
    (:func:`parsers.text.cut_line`). The last record is read as the table's cut row is: the
    value the cut line ends in is a fragment (``PID: 16`` of 1668, ``Image Name: svch``)
    unless its form shows it whole (``21,336 K``, ``N/A``) and is left empty with a warning;
    a last record with fewer fields than the records before it (the file ends inside it)
    takes their columns — its third field is no ``/svc`` Services — with a warning.

    A last record is that short only when it is: its labels are the first labels of the
    record before it and its PID (when it has one) is a number. A ``/svc`` record after
    default ones (``Services:`` where ``Session Name:`` was) or a footer (``Total: 5``) is
    read as itself. ``open_end``: the index of the last line when it has no line break but
    the file is not judged cut (a trimmed text: :func:`parsers.text.cut_line`); a short last
    record that ends there may be cut inside its last value, which is not trusted either."""
    found = 0
    size: int | None = None             # the number of fields of the records read so far
    labels: list[str] = []              # the labels of the last record read
    rec: list[tuple[int, str, str, int]] = []       # (line no, label, value, last index)
    cut_label = False                   # the cut line is no 'label: value' line

    def flush(final: bool = False) -> None:
        nonlocal found, rec, size, labels
        n_f = len(rec)
        short = (final and size is not None and n_f < size and (n_f > 0 or cut_label)
                 and [_label_key(lab) for _, lab, _, _ in rec] == labels[:n_f]
                 and (n_f < 2 or _is_pid(rec[1][2])))
        cut_here = final and cut is not None and (cut_label or (rec and rec[-1][3] == cut))
        if short and not cut_here and open_end is not None and rec[-1][3] == open_end:
            cut_here = True             # (can't tell: its last value is not trusted)
        if rows is not None and (short or cut_here) and n_f >= 2:
            names = COLUMNS[size if short else n_f] if (short or n_f in COLUMNS) else None
            if names is not None:
                _list_cut_record(rec, names, size if short else n_f, cut_here and not cut_label,
                                 line_offset, rows, warnings, source, cut)
                found += 1
                rec = []
                return
        if len(rec) in COLUMNS and _is_pid(rec[1][2]):
            names = COLUMNS[len(rec)]
            variant = {3: "svc", 5: "default", 9: "v"}[len(rec)]
            if variant == "svc" and rec[2][1].strip().casefold() in _MODULE_HEADERS:
                variant = "m"
            fields = {names[k]: rec[k][2] for k in range(len(rec))}
            found += 1
            size = len(rec)
            labels = [_label_key(lab) for _, lab, _, _ in rec]
            if rows is not None:
                rows.append(_record(fields, variant, "list", rec[0][0]))
        elif rec and warnings is not None and (short or cut_here or any(
                _is_pid(v) for _, _, v, _ in rec)):
            warn(warnings, source, rec[0][0], f"tasklist list record with {len(rec)} fields skipped"
                 + (" (the file ends inside it: it was cut)" if short or cut_here else ""))
        rec = []

    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1                        # (the last record is the one before trailing blanks)
    for k, ln in enumerate(lines[:end]):
        no = k + 1 + line_offset
        if not ln.strip():
            flush()
            continue
        m = _LABEL.match(ln)
        if m and not ln[:1].isspace():
            rec.append((no, m.group("label"), m.group("value"), k))
        elif rec and ln[:1].isspace():  # a wrapped list value (one service per line)
            n0, lab, val, _ = rec[-1]
            rec[-1] = (n0, lab, f"{val}, {ln.strip()}" if T.na(val) else ln.strip(), k)
        elif k == cut and rec:
            cut_label = True            # a label cut short ("Mem Us"): the record ends here
        else:
            flush()
        if probe and found:
            return found
    flush(final=True)
    return found


def _label_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def _list_cut_record(rec: list[tuple[int, str, str, int]], names: tuple[str, ...], size: int,
                     last_cut: bool, line_offset: int, rows: list, warnings: list | None,
                     source: str, cut: int | None) -> None:
    """The last ``/fo list`` record of a file that ends inside it (see :func:`_list_records`)."""
    fields: dict[str, Any] = {names[k]: rec[k][2] for k in range(len(rec))}
    said = []
    if last_cut:
        name = names[len(rec) - 1]
        value = (fields[name] or "").strip()
        whole = T.na(value) is None and bool(value) or (name == "mem" and value[-1:].isalpha())
        if name == "services" and value and not whole:
            items = value.split(",")
            if not items[-1].strip() or T.na(items[-1]) is None:
                whole = True            # ("LSM," ends whole; the names after it are lost)
            else:
                fields[name], fields["_cut"] = ",".join(items[:-1]), items[-1].strip()
                said.append(f"its last value {items[-1].strip()!r} may be a fragment and was "
                            "not read")
                whole = True
        if not whole and value:
            fields[name], fields["_cut"] = "", value
            said.append(f"its last value {value!r} ({name}) may be a fragment and was not read")
    if len(rec) < size:
        said.append(f"the fields after {names[len(rec) - 1]} are missing")
    variant = {3: "svc", 5: "default", 9: "v"}[size]
    if variant == "svc" and rec[2][1].strip().casefold() in _MODULE_HEADERS:
        variant = "m"
    rows.append(_record(fields, variant, "list", rec[0][0]))
    if warnings is not None and said:
        no = (cut + 1 + line_offset) if cut is not None else rec[-1][0]
        warn(warnings, source, no, "the file ends inside this tasklist list record: it was cut"
             + ("; " + "; ".join(said) if said else ""))


def _cut_warning(warnings: list, source: str, no: int, lost: str | None) -> None:
    warn(warnings, source, no,
         "the file ends inside this line (no line break after it, where tasklist ends every "
         "line with one): it was cut here; "
         + (f"its last field {lost} may be a fragment and was not read" if lost
            else "not read"))


def _open_list_warning(warnings: list, source: str, no: int) -> None:
    warn(warnings, source, no,
         "the file ends after this line, whose services list ends with a comma (tasklist "
         "goes on with it on the next line): it was cut here; the services after it are lost")


def _cut_row(f: dict[str, Any], names: tuple[str, ...], line: str, warnings: list,
             source: str, no: int) -> None:
    """The row on the cut last line of a table: the field the line ends in is a fragment
    (``99`` of PID 9952, ``TermServ``, ``21,33``) unless blanks follow it, or it is whole by
    its form ("N/A"); a memory figure is whole only with its unit, blanks or not (``32 ``
    of ``32 144 Ko``): blanked, and the cut said."""
    present = [k for k in names if (f.get(k) or "").strip()]
    if not present:
        return
    last = present[-1]
    value = f[last].strip()
    if last == "mem":
        # whole only with its unit: "32," "32." "32 " (a separator, the end of a cut
        # "32,144 K" / "32 144 Ko") would read as 32 K
        whole = value[-1].isalpha()
    else:
        whole = (line[-1:].isspace() and not _cut_in_words(value)) or T.na(value) is None
    if last in ("services",) and not whole:
        items = value.split(",")
        whole = not items[-1].strip() or T.na(items[-1]) is None   # ("LSM," ends whole)
        if not whole:
            f[last], f["_cut"] = ",".join(items[:-1]), items[-1].strip()
            _cut_warning(warnings, source, no, repr(items[-1].strip()))
            return
    if not whole:
        f[last], f["_cut"] = "", value
        _cut_warning(warnings, source, no, f"{value!r} ({last})")
    elif last != names[-1]:
        warn(warnings, source, no, "the file ends inside this line (no line break after it, "
             f"where tasklist ends every line with one): it was cut here, after {last}")


def _cut_csv(line: str, names: tuple[str, ...] | None, warnings: list, source: str,
             no: int) -> tuple[list[str], str | None] | None:
    """The last line of a ``/fo csv`` block when the file ends inside it (a field left open,
    or fewer fields than the block's): its closed fields are kept, the open one (no closing
    quote: a fragment) and those the line never reached are empty, and the cut is said.
    Returns the record and the fragment; None when nothing can be read (said too)."""
    s = line.strip()
    cut = None
    if _CSV_LINE.match(s) and names is not None:
        rec = [x.replace('""', '"') for x in s[1:-1].split('","')]
        what = f"fields after {names[len(rec) - 1]} missing"
    elif s.startswith('"') and names is not None:
        rec = [x.replace('""', '"') for x in s[1:].split('","')]
        if len(rec) > len(names):
            rec = []
        else:
            what = (f"its last field {rec[-1]!r} ({names[len(rec) - 1]}) may be a fragment "
                    "and was not read")
            cut, rec[-1] = rec[-1], ""
    else:
        rec = []
    if not rec:
        _cut_warning(warnings, source, no, None)
        return None
    warn(warnings, source, no, "the file ends inside this line (no line break after it, where "
         f"tasklist ends every line with one): it was cut here; {what}")
    return rec + [""] * (len(names) - len(rec)), cut


def parse_text(text: str, source: str, options: ParseOptions | None = None,
               line_offset: int = 0, *, file_end: bool | str = False) -> ParseResult:
    """``file_end``: the end of ``text`` is the end of the file (not of a block cut out of a
    longer text), so a last line without its line break was cut (:func:`parsers.text.cut_line`)."""
    lines = T.split_lines(text)
    cut = T.cut_line(text, lines, file_end)
    # a CSV line shows by its quotes whether it is whole: any last line without a line break
    open_end = len(lines) - 1 if file_end and lines and lines[-1].strip() and not \
        text.rstrip("\x1a").endswith(("\n", "\r")) else None
    rows: list[dict[str, Any]] = []
    warnings: list = []
    fmt = None
    i, n = 0, len(lines)
    in_table = False
    while i < n:
        ln = lines[i]
        no = i + 1 + line_offset
        hdr = _table_header(lines, i)
        if hdr:
            cols, variant = hdr
            names = COLUMNS[len(cols)]
            fmt, in_table = "table", True
            lost: list[int] = []
            open_list: int | None = None    # the line of a list that ends with a comma
            i += 1
            while i < n:
                ln = lines[i]
                no = i + 1 + line_offset
                if not ln.strip():
                    i += 1
                    continue
                if _table_header(lines, i) or (i + 1 < n and _table_header(lines, i + 1)):
                    break  # the next table (a repeated header)
                if _list_goes_on(ln, cols, open_list is not None) and rows and \
                        rows[-1]["_data"]["format"] == "table":
                    d = rows[-1]["_data"]
                    key = "modules" if variant == "m" else "services"
                    raw = T.slice_cols(ln, cols[2][0]) if _is_continuation(ln, cols) else ln
                    open_list = no if _ends_open(raw) else None
                    more = _services(raw)
                    if i == cut and more and not ln[-1].isspace() and open_list is None \
                            and T.na(more[-1]) is not None:
                        _cut_warning(warnings, source, no, repr(more.pop()))
                    d[key] = d.get(key, []) + more
                    rows[-1]["message"] = _message(d["image"], rows[-1]["pid"], d["services"])
                    i += 1
                    continue
                f = _split_row(ln, cols, names)
                open_list = no if f is not None and _ends_open(f.get("services")) else None
                if f is None:
                    if i == cut:
                        _cut_warning(warnings, source, no, None)
                    else:
                        warn(warnings, source, no,
                             f"not a tasklist row, skipped: {ln.strip()[:80]!r}")
                else:
                    if "_lost" in f:
                        lost.append(no)
                    if i == cut:
                        _cut_row(f, names, ln, warnings, source, no)
                    rows.append(_record(f, variant, "table", no))
                i += 1
            if open_list is not None and i >= n:
                _open_list_warning(warnings, source, open_list)
            if lost:
                warn(warnings, source, lost[0],
                     f"{len(lost)} row(s) not aligned with the header (first at line {lost[0]}): "
                     "image, PID, session and memory read; status, user, CPU time and window "
                     "title could not be told apart and were not read")
            continue
        if _CSV_LINE.match(ln):
            # the block runs to the next table or the end: a line in it that is no quoted
            # record is said, as a table's rows are
            j = i
            while j < n and not (_table_header(lines, j)
                                 or (j + 1 < n and _table_header(lines, j + 1))):
                j += 1
            if j == i:
                # the quoted line heads the table whose ruler follows: no CSV block (the loop
                # stood on this line for ever — found by the property tests)
                i += 1
                continue
            block = [x if _CSV_LINE.match(x) else "" for x in lines[i:j]]
            recs = _csv_rows(block, 0)
            for k in range(i, j):
                if lines[k].strip() and not block[k - i] and k != open_end:
                    warn(warnings, source, k + 1 + line_offset,
                         f"not a tasklist CSV row, skipped: {lines[k].strip()[:80]!r}")
            if open_end is not None and i <= open_end < j and not block[open_end - i]:
                recs.append((open_end - i, None))       # (the last line, ending unbroken)
            names = None
            variant = "default"
            for k, rec in recs:
                no = i + k + 1 + line_offset
                fragment = None
                if i + k == open_end and (rec is None or (names and len(rec) < len(names))):
                    got = _cut_csv(lines[i + k], names, warnings, source, no)
                    if got is None:
                        continue
                    rec, fragment = got
                elif _csv_is_header(rec):
                    if len(rec) in COLUMNS:
                        names = COLUMNS[len(rec)]
                        variant = {3: "svc", 5: "default", 9: "v"}[len(rec)]
                        if variant == "svc" and rec[2].strip().casefold() in _MODULE_HEADERS:
                            variant = "m"
                    continue
                if len(rec) not in COLUMNS:
                    warn(warnings, source, no, f"tasklist CSV row with {len(rec)} fields skipped")
                    continue
                if names is None or len(names) != len(rec):
                    names = COLUMNS[len(rec)]
                    variant = {3: "svc", 5: "default", 9: "v"}[len(rec)]
                rows.append(_record({**dict(zip(names, rec)), "_cut": fragment}, variant,
                                    "csv", no))
            fmt = fmt or "csv"
            i = j
            continue
        i += 1
    no_match = any(_NO_TASKS.match(ln) for ln in lines)
    if not rows and not no_match:
        before = len(warnings)
        _list_records(lines, line_offset, rows=rows, warnings=warnings, source=source,
                      cut=cut, open_end=open_end)
        if rows:
            fmt = "list"
        elif len(warnings) == before and any(ln.strip() for ln in lines) and not in_table:
            warn(warnings, source, line_offset + 1, "no tasklist table, CSV or list records found")
    for r in rows:
        r["data"] = data_json(r.pop("_data"))
    stats: dict[str, Any] = {"format": fmt}
    if no_match:
        stats["no_match"] = True  # tasklist ran and found nothing: empty, not missing
    return result_from_rows(rows, parser="tasklist", warnings=warnings, stats=stats)


def sniff(head: bytes, name: str = "") -> bool:
    return T.sniff_head(head, sniff_text)


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    return T.parse_file(path, options, functools.partial(parse_text, file_end=True),
                        kind="tasklist")
