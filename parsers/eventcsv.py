"""Event Viewer CSV / tab-delimited text exports → timeline rows.

Input, any locale (headers and level words in en, de, fr, es, it, pt, nl, ru are known; the
shape of the data rows decides when a header is not):

* Vista and later, "Save All Events As…" ``.csv`` (comma) or ``.txt`` (tab)::

      Level,Date and Time,Source,Event ID,Task Category
      Error,3/1/2011 8:00:00 AM,TermDD,50,None,"The RDP protocol component X.224 detected …"

  The header names five columns; every row carries a sixth, unnamed one: the rendered
  message, quoted, possibly over several lines (an unquoted continuation line is joined to
  the message before it). A Security export may say ``Keywords`` instead of ``Level``
  (``Audit Success`` / ``Audit Failure``).
* Windows Server 2003 Event Viewer "Save Log File As…" text / CSV, no header::

      3/1/2011,8:00:00 AM,TermDD,Error,None,50,N/A,TS2003,The RDP protocol component …

  (Date, Time, Source, Type, Category, Event, User, Computer, Description).
* PowerShell ``Get-WinEvent … | Export-Csv`` and ``Get-EventLog … | Export-Csv`` (optional
  ``#TYPE`` line, any subset of the object's properties as named columns: ``TimeCreated`` /
  ``TimeGenerated``, ``Id`` / ``EventID`` / ``InstanceId``, ``ProviderName`` / ``Source``,
  ``LevelDisplayName`` / ``EntryType`` / ``Level``, ``LogName``, ``MachineName``,
  ``RecordId`` / ``Index``, ``Message``, ``UserId``, ``ProcessId``, ``Qualifiers``); the
  ``#TYPE …EventLogEntry#System/…`` line of Get-EventLog names the log.

Times are **local** to the machine that exported them and carry no zone. With
``ParseOptions.tz_hint`` (an IANA name, ``UTC+01:00``, or systeminfo's
``(UTC+01:00) Amsterdam, Berlin, …`` display name; ``analyzer.bundle`` passes the
systeminfo zone of the same bundle) they are converted to UTC; without it a warning says the
zone is unknown and the times are taken as UTC. Day/month order comes from the rows
themselves (a day above 12), else from the header language.

Rows (``kind`` = ``evtcsv``, ``locator`` = ``line N``): ``time``, ``provider`` (Source),
``event_id`` (low 16 bits; ``Qualifiers`` in data when a 32-bit id was exported), ``level``
(Critical 1, Error 2, Warning 3, Information 4, Verbose 5, audit success/failure 0 with
``data.audit`` — what ``.evtx`` Security events carry), ``channel`` (from the file name:
``System.csv``, ``…%4Operational.txt``; else guessed from the sources, with a warning),
``message`` (Windows' rendered message on one line), ``host``/``user`` (2003 form),
``data``: ``TaskCategory``, ``LevelText``, and — English and German messages of the RDP
events detectors use (TermDD 50/56, RCM 1149, LSM 21–25, Security 4624/4625/4778/4779, and
English 2003 Security 528–540/682/683) —
the fields ``parsers.evtx`` would have (``param2``, ``Param1..3``, ``User``, ``SessionID``,
``Address``, ``LogonType``, ``IpAddress``…), marked ``"_from_message": true``.

``stats``: ``records``, ``records_expected`` (event rows seen), ``skipped``, ``layout``
(``vista`` | ``2003`` | ``powershell``), ``date_order``, ``tz`` (the zone used or ``None``).
"""
from __future__ import annotations

import csv
import re
from collections import Counter
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePath
from typing import Any

import pandas as pd

from .base import (TIME_DTYPE, ParseOptions, ParseResult, ParserInfo, ParseWarning, conform,
                   data_json, empty_frame)
from .eventcommon import event_columns
from .evt import channel_from_name as _evt_channel_from_name
from .evt import channel_from_sources
from .text import decode_head, is_text, read_file

INFO = ParserInfo(
    name="eventcsv", kind="evtcsv",
    description="Event Viewer 'Save All Events As' CSV / tab-delimited text (Vista+, any "
                "locale) and Windows 2003 Event Viewer text/CSV exports; local times",
    sniffs="a 'Level,Date and Time,Source,Event ID,Task Category' header (localized), or "
           "rows shaped like it, or 2003 'date,time,source,type,category,id,user,computer'",
    text=True)


def _norm(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.strip().strip('"').strip("\ufeff")).lower()
    s = "".join(c for c in s if not unicodedata.combining(c))
    return re.sub(r"[\s’'`.\-]+", " ", s).strip()


#: Accepted header names per column position (normalised: lower case, no accents/punctuation).
HEADER_NAMES: tuple[frozenset[str], ...] = tuple(frozenset(_norm(x) for x in names) for names in (
    ("Level", "Keywords", "Ebene", "Schlüsselwörter", "Niveau", "Mots-clés", "Nivel",
     "Palabras clave", "Livello", "Parole chiave", "Nível", "Palavras-chave", "Trefwoorden",
     "Уровень", "Ключевые слова", "Poziom", "Słowa kluczowe"),
    ("Date and Time", "Datum und Uhrzeit", "Date et heure", "Fecha y hora", "Data e ora",
     "Data e Hora", "Datum en tijd", "Дата и время", "Data i godzina"),
    ("Source", "Quelle", "Origen", "Origine", "Fonte", "Origem", "Bron", "Источник", "Źródło"),
    ("Event ID", "Ereignis-ID", "ID de l'événement", "ID de l’événement", "Id. del evento",
     "ID del evento", "ID evento", "Identificação do Evento", "ID do Evento", "Gebeurtenis-id",
     "Код события", "Identyfikator zdarzenia"),
    ("Task Category", "Aufgabenkategorie", "Catégorie de la tâche", "Categoría de la tarea",
     "Categoria attività", "Categoria da Tarefa", "Taakcategorie", "Категория задачи",
     "Kategoria zadania"),
))
_HEADER_LANG = {
    **{_norm(x): "en" for x in ("Level", "Keywords", "Date and Time")},
    **{_norm(x): "de" for x in ("Ebene", "Schlüsselwörter", "Datum und Uhrzeit")},
    **{_norm(x): "fr" for x in ("Niveau", "Mots-clés", "Date et heure")},
    **{_norm(x): "es" for x in ("Nivel", "Palabras clave", "Fecha y hora")},
    **{_norm(x): "it" for x in ("Livello", "Data e ora")},
    **{_norm(x): "pt" for x in ("Nível", "Data e Hora")},
    **{_norm(x): "nl" for x in ("Datum en tijd", "Trefwoorden")},
    **{_norm(x): "ru" for x in ("Уровень", "Дата и время")},
}

#: Level / type words → (timeline level, audit).
LEVEL_WORDS: dict[str, tuple[int, str | None]] = {}
for _lvl, _words in (
    (1, ("Critical", "Kritisch", "Critique", "Crítico", "Critico", "Kritiek", "Критический",
         "Krytyczny")),
    (2, ("Error", "Fehler", "Erreur", "Errore", "Erro", "Fout", "Ошибка", "Błąd")),
    (3, ("Warning", "Warnung", "Avertissement", "Advertencia", "Avviso", "Aviso",
         "Waarschuwing", "Предупреждение", "Ostrzeżenie")),
    (4, ("Information", "Informationen", "Información", "Informazioni", "Informações",
         "Informatie", "Сведения", "Informacje")),
    (5, ("Verbose", "Ausführlich", "Commentaires", "Detallado", "Dettagliato", "Detalhado",
         "Uitgebreid", "Подробности", "Pełne")),
):
    for _w in _words:
        LEVEL_WORDS[_norm(_w)] = (_lvl, None)
for _audit, _words in (
    ("success", ("Audit Success", "Success Audit", "SuccessAudit", "Überwachung erfolgreich",
                 "Erfolgsüberwachung", "Succès de l'audit", "Audit réussi", "Auditoría correcta",
                 "Controllo riuscito", "Auditoria com Êxito", "Controle geslaagd",
                 "Аудит успеха", "Inspekcja zakończona sukcesem")),
    ("failure", ("Audit Failure", "Failure Audit", "FailureAudit", "Überwachung gescheitert",
                 "Überwachungsfehler", "Fehlerüberwachung", "Échec de l'audit", "Audit échoué",
                 "Error de auditoría", "Controllo non riuscito", "Falha na Auditoria",
                 "Controle mislukt", "Аудит отказа", "Inspekcja zakończona niepowodzeniem")),
):
    for _w in _words:
        LEVEL_WORDS[_norm(_w)] = (0, _audit)

_AMPM = r"[AaPp]\.?\s?[Mm]\.?|午前|午後|오전|오후|上午|下午"
_DT_RE = re.compile(
    r"^\s*(?P<a>\d{1,4})[./\-](?P<b>\d{1,2})[./\-](?P<c>\d{1,4})\.?"
    # the AM/PM word before the time in Korean, Chinese and Japanese exports
    rf"(?:[\sT,]+(?:(?P<ap0>{_AMPM})\s*)?(?P<H>\d{{1,2}}):(?P<M>\d{{2}})(?::(?P<S>\d{{2}}))?"
    rf"(?:[.,](?P<F>\d{{1,7}}))?\s*(?P<ap>{_AMPM})?)?\s*$")
#: Left-to-right / right-to-left marks Event Viewer puts around date parts.
_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c"), None)


class _DT:
    """The date-time pattern, matched after the direction marks are dropped."""

    @staticmethod
    def match(s: str):
        return _DT_RE.match(s.translate(_MARKS)) if s else None
_TIME = re.compile(rf"^\s*(?:(?P<ap0>{_AMPM})\s*)?(?P<H>\d{{1,2}}):(?P<M>\d{{2}})"
                   rf"(?::(?P<S>\d{{2}}))?\s*(?P<ap>{_AMPM})?\s*$")
_ID = re.compile(r"^\s*\d{1,10}\s*$")
# Event Viewer writes a message of any length in one field: csv's default limit (128 KiB)
# dropped such an event and glued the rest of its lines onto the event before it (found by
# review). The texts read are bounded by ParseOptions.max_text_bytes; process-wide setting,
# raised only.
csv.field_size_limit(max(csv.field_size_limit(), 256 << 20))
_DATEISH = re.compile(r"\d\s*[./\-年]\s*\d")
_WS = re.compile(r"\s+")


# ----------------------------------------------------------------------------- sniffing


def _split(line: str, delim: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delim))
    except (csv.Error, StopIteration):
        return line.split(delim)


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in ("\t", ",", ";")}
    return max(counts, key=counts.get)


def _header_score(fields: list[str]) -> int:
    return sum(1 for i, f in enumerate(fields[:5]) if _norm(f) in HEADER_NAMES[i])


def _is_vista_row(f: list[str]) -> bool:
    return (len(f) >= 5 and _DT.match(f[1] or "") is not None and bool(_ID.match(f[3] or ""))
            and bool(f[2].strip()))


def _is_cut_row(f: list[str], layout: str) -> bool:
    """The start of an event row with fewer fields than one has: the file ends (or was cut)
    inside it — not a line of the message before it."""
    if layout == "vista":
        return 2 <= len(f) < 5 and _DT.match(f[1] or "") is not None and bool(f[0].strip()) \
            and (len(f) < 4 or bool(_ID.match(f[3] or "")))
    return 2 <= len(f) < 8 and _DT.match(f[0] or "") is not None \
        and _TIME.match(f[1] or "") is not None


def _is_2003_row(f: list[str]) -> bool:
    return (len(f) >= 8 and _DT.match(f[0] or "") is not None and _TIME.match(f[1] or "") is not None
            and bool(_ID.match(f[5] or "")) and bool(f[2].strip()))


def _first_lines(text: str, n: int = 5) -> list[str]:
    return [ln for ln in text.lstrip("\ufeff").splitlines() if ln.strip()][:n]


def _ps_header(lines: list[str]) -> tuple[list[str], int] | None:
    """The column names of a PowerShell ``Export-Csv`` of event objects (after an optional
    ``#TYPE`` line), and the index of the header line; None when it is not one."""
    i = 1 if lines and lines[0].startswith("#TYPE") else 0
    if len(lines) <= i:
        return None
    cols = _split(lines[i], _delimiter(lines[i]))
    names = {c.strip() for c in cols}
    has_time = bool(names & {"TimeCreated", "TimeGenerated"})
    has_id = bool(names & {"Id", "EventID", "InstanceId"})
    has_src = bool(names & {"ProviderName", "Source", "LogName", "Message"})
    return (cols, i) if has_time and has_id and has_src else None


def sniff_text(text: str) -> bool:
    lines = _first_lines(text[:65536], 3)
    if not lines:
        return False
    if _ps_header(lines) is not None:
        return True
    d = _delimiter(lines[0])
    first = _split(lines[0], d)
    if len(first) >= 5 and _header_score(first) >= 4:
        return True
    if _is_2003_row(first):
        return True
    # an unknown-language header followed by a row of the right shape
    if len(first) >= 5 and len(lines) > 1:
        second = _split(lines[1], d)
        return _is_vista_row(second) and (_norm(second[0]) in LEVEL_WORDS or _header_score(first) >= 2)
    return False


def sniff(head: bytes, name: str = "") -> bool:
    if not head or not is_text(head):
        return False
    return sniff_text(decode_head(head))


# ----------------------------------------------------------------------------- time


_TZ_OFFSET = re.compile(r"(?:UTC|GMT)?\s*(?P<sign>[+\-−])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?")

#: systeminfo / Windows display names → IANA zones (DST-aware); others use their offset.
WINDOWS_ZONES: tuple[tuple[str, str], ...] = (
    ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("Mountain Time (US & Canada)", "America/Denver"), ("Arizona", "America/Phoenix"),
    ("Central Time (US & Canada)", "America/Chicago"),
    ("Eastern Time (US & Canada)", "America/New_York"), ("Atlantic Time", "America/Halifax"),
    ("Alaska", "America/Anchorage"), ("Hawaii", "Pacific/Honolulu"),
    ("Dublin, Edinburgh, Lisbon, London", "Europe/London"),
    ("Amsterdam, Berlin", "Europe/Berlin"), ("Brussels, Copenhagen, Madrid, Paris", "Europe/Paris"),
    ("Belgrade, Bratislava, Budapest", "Europe/Budapest"),
    ("Sarajevo, Skopje, Warsaw, Zagreb", "Europe/Warsaw"),
    ("Athens, Bucharest", "Europe/Bucharest"), ("Helsinki, Kyiv", "Europe/Helsinki"),
    ("Helsinki, Kiev", "Europe/Helsinki"), ("Istanbul", "Europe/Istanbul"),
    ("Moscow", "Europe/Moscow"), ("Jerusalem", "Asia/Jerusalem"), ("Cairo", "Africa/Cairo"),
    ("Chennai, Kolkata, Mumbai, New Delhi", "Asia/Kolkata"), ("Osaka, Sapporo, Tokyo", "Asia/Tokyo"),
    ("Beijing, Chongqing, Hong Kong", "Asia/Shanghai"), ("Seoul", "Asia/Seoul"),
    ("Canberra, Melbourne, Sydney", "Australia/Sydney"), ("Brasilia", "America/Sao_Paulo"),
    ("Auckland, Wellington", "Pacific/Auckland"), ("Singapore", "Asia/Singapore"),
    ("Kuala Lumpur, Singapore", "Asia/Singapore"), ("Coordinated Universal Time", "UTC"),
    ("Pacific Standard Time", "America/Los_Angeles"), ("Mountain Standard Time", "America/Denver"),
    ("Central Standard Time", "America/Chicago"), ("Eastern Standard Time", "America/New_York"),
    ("GMT Standard Time", "Europe/London"), ("W. Europe Standard Time", "Europe/Berlin"),
    ("Romance Standard Time", "Europe/Paris"), ("Central Europe Standard Time", "Europe/Budapest"),
    ("Russian Standard Time", "Europe/Moscow"), ("India Standard Time", "Asia/Kolkata"),
    ("Tokyo Standard Time", "Asia/Tokyo"), ("China Standard Time", "Asia/Shanghai"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    # localized display names (as best known; German and Italian ones match the English keys)
    ("Bruxelles, Copenhague, Madrid, Paris", "Europe/Paris"),
    ("Bruselas, Copenhague, Madrid, París", "Europe/Paris"), ("Warszawa", "Europe/Warsaw"),
    ("Москва", "Europe/Moscow"), ("Brasília", "America/Sao_Paulo"),
)


def resolve_tz(hint: str | None) -> tuple[Any, str]:
    """A tz for ``tz_hint``: (zone or None, description). IANA names and Windows display
    names are DST-aware; a bare offset is fixed."""
    if not hint or not str(hint).strip():
        return None, ""
    h = str(hint).strip()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if "/" in h and " " not in h or h.upper() == "UTC":
        try:
            return ZoneInfo(h if h.upper() != "UTC" else "UTC"), h
        except (ZoneInfoNotFoundError, ValueError):
            pass
    for key, iana in WINDOWS_ZONES:
        if key.lower() in h.lower():
            try:
                return ZoneInfo(iana), f"{iana} (from {h!r})"
            except (ZoneInfoNotFoundError, ValueError):
                break
    m = _TZ_OFFSET.search(h)
    if m:
        sign = -1 if m.group("sign") in "-−" else 1
        off = timedelta(hours=int(m.group("h")), minutes=int(m.group("m") or 0)) * sign
        return timezone(off), f"fixed offset {m.group(0).strip()} (from {h!r}; no DST rules)"
    if re.search(r"\((?:UTC|GMT)\)", h):
        return timezone.utc, f"UTC (from {h!r})"
    return None, ""


#: Skipped rows reported one by one; the rest in one summary warning.
SKIPPED_WARNINGS = 20


def _warn_skipped(source: str, skipped: list[dict[str, Any]],
                  warnings: list[ParseWarning]) -> None:
    """A warning for every row the CSV reader could not split or that holds no event id
    (they used to reach only the stats); rows already warned about are not repeated."""
    todo = [s for s in skipped if not s.get("warned")]
    for s in todo[:SKIPPED_WARNINGS]:
        warnings.append(ParseWarning(source, f"line {s['line']}", f"{s['reason']}; row skipped"))
    if len(todo) > SKIPPED_WARNINGS:
        rest = todo[SKIPPED_WARNINGS:]
        warnings.append(ParseWarning(source, f"line {rest[0]['line']}",
                                     f"{len(rest)} more rows skipped (last at line "
                                     f"{rest[-1]['line']})"))


def _zone(hint: str | None, source: str, warnings: list) -> tuple[Any, str]:
    """:func:`resolve_tz` for an export's local times, with a warning when the zone is
    unknown or only a fixed offset (a display name in a language the table lacks: French
    "Bruxelles, Copenhague, Madrid, Paris" — times then shift by an hour in summer)."""
    zone, zdesc = resolve_tz(hint)
    if zone is None:
        warnings.append(ParseWarning(
            source, "line 1", "time zone unknown: the export holds local times without a zone; "
            "taken as UTC" + (f" (tz_hint {hint!r} not understood)" if hint else "")))
    elif "no DST rules" in zdesc and re.search(r"[^\W\d_]{3,}", _TZ_OFFSET.sub("", hint or "")
                                               .replace("UTC", "").replace("GMT", "")):
        # (a bare offset is what was asked for; a display name we could not place is not)
        warnings.append(ParseWarning(
            source, "line 1", f"time zone {hint!r} not recognised by name: local times taken "
            f"at its {zdesc.split(' (', 1)[0]} all year, so they may be an hour off in the "
            "daylight-saving part of the year"))
    return zone, zdesc


def _locale_order(locale: str | None) -> str | None:
    """'mdy' or 'dmy' from a systeminfo System Locale (``en-us;English (United States)``):
    month first in the US (and Philippine) locales, day first in the others we know."""
    if not locale:
        return None
    tag = str(locale).split(";", 1)[0].strip().lower()
    if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})*", tag):
        return None
    if tag in ("en-us", "en-ph", "es-us") or tag.startswith(("zh", "ja", "ko", "hu", "lt")):
        return None                   # month first, or year first: the numbers decide
    return "dmy"


def _date_order(pairs: list[tuple[int, int]], lang: str, sep: str) -> str:
    """'mdy' or 'dmy' for dates whose first two numbers are ``pairs``."""
    if any(a > 12 for a, b in pairs):
        return "dmy"
    if any(b > 12 for a, b in pairs):
        return "mdy"
    if lang == "en" and sep == "/":
        return "mdy"
    return "dmy" if lang not in ("", "en") or sep in ".-" else "mdy"


def _to_naive(m: re.Match, order: str, tm: re.Match | None = None) -> datetime | None:
    a, b, c = int(m.group("a")), int(m.group("b")), int(m.group("c"))
    if len(m.group("a")) == 4:
        y, mo, d = a, b, c
    elif order == "dmy":
        d, mo, y = a, b, c
    else:
        mo, d, y = a, b, c
    if y < 100:
        y += 2000 if y < 70 else 1900
    t = tm or m
    H = int(t.group("H") or 0)
    M = int(t.group("M") or 0)
    S = int(t.group("S") or 0)
    F = (m.group("F") if tm is None else None) or ""
    ap = (t.group("ap") or (t.groupdict().get("ap0") or "")).lower().replace(".", "") \
        .replace(" ", "")
    ap = {"오후": "pm", "下午": "pm", "오전": "am", "上午": "am"}.get(ap, ap)
    if ap in ("pm", "午後") and H < 12:
        H += 12
    elif ap in ("am", "午前") and H == 12:
        H = 0
    try:
        return datetime(y, mo, d, H, M, S, int((F + "000000")[:6]) if F else 0)
    except ValueError:
        return None


# ----------------------------------------------------------------------------- message fields

#: The rest of a ``Label:`` line (stripped by the caller). Possessive: a lazy value before
#: ``[ \t]*`` made a message with a long run of blanks quadratic (found by review).
_F = r"[ \t]*+([^\r\n]*+)"
_BLANKS = re.compile(r"[ \t]{2,}")


def _after(label: str, text: str, nth: int = 0) -> str | None:
    ms = list(re.finditer(rf"(?m)^[ \t]*{label}:{_F}", text))
    if len(ms) > nth:
        v = ms[nth].group(1).strip()
        return v if v else None
    return None


def _inline(label: str, text: str) -> str | None:
    """``Label: value`` where the value ends at the next ``Other Label:`` or line end (2003
    messages, often flattened to one line by the export). Runs of blanks count as one: the
    value's end is looked for at every character, and a long run made that cubic."""
    text = _BLANKS.sub(" ", text)
    m = re.search(rf"(?<!\w)(?<!Caller ){label}:[ \t]*(.*?)[ \t]*(?=[ \t\r\n]+[A-Z][A-Za-z]*(?: [A-Za-z]+){{0,3}}:|\r|\n|$)",
                  text)
    if not m:
        return None
    v = m.group(1).strip()
    return v if v and v != "-" else None


#: 2003 Security events: message label → the field name ``parsers.evt`` gives the string
_SEC2003_LABELS = (("User Name", "TargetUserName"), ("Domain", "TargetDomainName"),
                   ("Logon Type", "LogonType"), ("Workstation Name", "WorkstationName"),
                   ("Source Network Address", "IpAddress"), ("Source Port", "IpPort"))
_SEC2003_SESSION = (("User Name", "AccountName"), ("Domain", "AccountDomain"),
                    ("Session Name", "SessionName"), ("Client Name", "ClientName"),
                    ("Client Address", "ClientAddress"))


def fields_from_message(provider: str | None, event_id: int | None, msg: str) -> dict[str, Any]:
    """The named fields ``parsers.evtx`` would give, recovered from an English or German
    rendered message of the RDP events detectors look at (best effort; empty if no match)."""
    p = (provider or "").lower()
    out: dict[str, Any] = {}
    if not msg or event_id is None:
        return out
    if p == "termdd" and event_id == 50:
        m = re.search(r"(?:component|komponente)\s+\"?(.+?)\"?\s+(?:detected|hat)", msg, re.I)
        if m:
            out = {"param1": "\\Device\\Termdd", "param2": m.group(1)}
    elif p == "termdd" and event_id == 56:
        m = re.search(r"(?:Client IP|Client-IP)\s*:\s*([0-9A-Fa-f.:]+)", msg)
        if m:
            out = {"param1": "\\Device\\Termdd", "param2": m.group(1).rstrip(".")}
    elif p.endswith("remoteconnectionmanager") and event_id == 1149:
        u = _after("(?:User|Benutzer)", msg)
        d = _after("Domain(?:e)?", msg)
        a = _after("(?:Source Network Address|Quellnetzwerkadresse)", msg)
        out = {k: v for k, v in (("Param1", u), ("Param2", d), ("Param3", a)) if v}
    elif p.endswith("localsessionmanager") and event_id in (21, 22, 23, 24, 25):
        u = _after("(?:User|Benutzer)", msg)
        s = _after("(?:Session ID|Sitzungs-ID)", msg)
        a = _after("(?:Source Network Address|Quellnetzwerkadresse)", msg)
        out = {k: v for k, v in (("User", u), ("SessionID", s), ("Address", a)) if v}
    elif p == "microsoft-windows-security-auditing" and event_id in (4624, 4625):
        out = {k: v for k, v in (
            ("LogonType", _after("(?:Logon Type|Anmeldetyp)", msg)),
            # the account logged on is the second "Account Name:" (the first is the subject)
            ("TargetUserName", _after("(?:Account Name|Kontoname)", msg, 1)),
            ("TargetDomainName", _after("(?:Account Domain|Kontodomäne)", msg, 1)),
            ("IpAddress", _after("(?:Source Network Address|Quellnetzwerkadresse)", msg)),
            ("IpPort", _after("(?:Source Port|Quellport)", msg)),
            ("WorkstationName", _after("(?:Workstation Name|Arbeitsstationsname)", msg)),
            ("Status", _after("Status", msg)),
            ("SubStatus", _after("(?:Sub Status|Unterstatus)", msg)),
        ) if v}
    elif p == "security" and event_id in (528, 540, 529, 530, 531, 532, 533, 534, 535, 536, 539):
        out = {f: v for label, f in _SEC2003_LABELS if (v := _inline(label, msg))}
    elif p == "security" and event_id in (682, 683):
        out = {f: v for label, f in _SEC2003_SESSION if (v := _inline(label, msg))}
    elif p == "microsoft-windows-security-auditing" and event_id in (4778, 4779):
        out = {k: v for k, v in (
            ("AccountName", _after("(?:Account Name|Kontoname)", msg)),
            ("AccountDomain", _after("(?:Account Domain|Kontodomäne)", msg)),
            ("SessionName", _after("(?:Session Name|Sitzungsname)", msg)),
            ("ClientName", _after("(?:Client Name|Clientname)", msg)),
            ("ClientAddress", _after("(?:Client Address|Clientadresse)", msg)),
        ) if v}
    return out


# ----------------------------------------------------------------------------- parsing


def channel_from_name(name: str) -> str | None:
    ch = _evt_channel_from_name(name)
    if ch:
        return ch
    stem = PurePath(name).stem
    if "%4" in stem and stem.lower().startswith("microsoft-windows-"):
        return stem.replace("%4", "/")
    return None


def parse_text(text: str, source: str, options: ParseOptions | None = None,
               line_offset: int = 0, name: str | None = None) -> ParseResult:
    options = options or ParseOptions()
    warnings: list[ParseWarning] = []
    text = text.lstrip("\ufeff")
    lines = _first_lines(text, 2)
    if not lines:
        return ParseResult(frame=empty_frame(), warnings=[ParseWarning(source, "line 1", "no events")],
                           stats={"records": 0, "records_expected": 0}, parser=INFO.name)
    if _ps_header(_first_lines(text, 2)) is not None:
        return _parse_powershell(text, source, options, line_offset, name)
    delim = _delimiter(lines[0])
    first = _split(lines[0], delim)
    layout = "2003" if _is_2003_row(first) else "vista"
    lang = ""
    if layout == "vista":
        lang = (_HEADER_LANG.get(_norm(first[1]), "") if len(first) > 1 else "") \
            or (_HEADER_LANG.get(_norm(first[0]), "") if first else "")

    # pass 1: records (a quoted message may span lines; an unquoted continuation line is
    # appended to the message before it)
    events: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delim)
    prev_end = line_offset
    header_seen = False
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            skipped.append({"line": prev_end + 1, "length": 0, "reason": f"CSV error: {e}"})
            prev_end = reader.line_num + line_offset
            continue
        start = prev_end + 1
        prev_end = reader.line_num + line_offset
        if not rec or not any(x.strip() for x in rec):
            continue
        if layout == "vista":
            if not header_seen and _header_score(rec) >= 2 and not _is_vista_row(rec):
                header_seen = True
                continue
            if _is_vista_row(rec):
                events.append({"line": start, "level": rec[0], "dt": rec[1], "source": rec[2],
                               "id": rec[3], "cat": rec[4], "msg": delim.join(rec[5:])})
                continue
        else:
            if _is_2003_row(rec):
                events.append({"line": start, "level": rec[3], "dt": rec[0], "tm": rec[1],
                               "source": rec[2], "cat": rec[4], "id": rec[5], "user": rec[6],
                               "computer": rec[7], "msg": delim.join(rec[8:])})
                continue
        # (a date-like field: digits around a date separator — an unquoted message line
        # "Offsets, module x, thread y, 42, …" is a continuation, not an event)
        shaped = (len(rec) >= 5 and bool(_ID.match(rec[3] or "")) and bool(rec[2].strip())
                  and _DATEISH.search(rec[1] or "") is not None
                  if layout == "vista" else
                  len(rec) >= 8 and bool(_ID.match(rec[5] or "")) and bool(rec[2].strip())
                  and _DATEISH.search(rec[0] or "") is not None)
        if shaped and (layout != "vista" or not header_seen or rec[1].strip()):
            # an event row whose date we cannot read: not part of the previous message
            skipped.append({"line": start, "length": len(delim.join(rec)),
                            "reason": f"event row with an unreadable date "
                                      f"{(rec[1] if layout == 'vista' else rec[0])[:40]!r}"})
            continue
        if _is_cut_row(rec, layout):
            skipped.append({"line": start, "length": len(delim.join(rec)),
                            "reason": "event row cut short (the file ends inside it: "
                                      "truncated?)"})
            continue
        if events:
            events[-1]["msg"] += "\n" + delim.join(rec)
        else:
            skipped.append({"line": start, "length": len(delim.join(rec)), "warned": True,
                            "reason": "line before the first event is not a header"})
            warnings.append(ParseWarning(source, f"line {start}",
                                         "not an event row and before the first event; skipped"))

    # date order from the rows themselves
    pairs = []
    seps = set()
    for e in events:
        m = _DT.match(e["dt"])
        if m and len(m.group("a")) < 4:
            pairs.append((int(m.group("a")), int(m.group("b"))))
            seps.add(e["dt"].translate(_MARKS).strip()[len(m.group("a"))])
    order = _date_order(pairs, lang, next(iter(seps)) if len(seps) == 1 else "/")
    ambiguous = bool(pairs) and not any(a > 12 or b > 12 for a, b in pairs)
    by_locale = _locale_order(options.locale_hint) if ambiguous else None
    if by_locale:
        order = by_locale                 # the host's own locale says (en-gb: day first)
    elif ambiguous:
        warnings.append(ParseWarning(source, "line 1", "day/month order not decidable from the "
                                     f"dates (no day above 12); assumed {order} from the "
                                     f"{'header language ' + lang if lang else 'separator'}"))

    zone, zdesc = _zone(options.tz_hint, source, warnings)

    channel = channel_from_name(name or PurePath(source).name)
    if channel is None and events:
        channel = channel_from_sources([e["source"] for e in events])
        warnings.append(ParseWarning(source, "line 1", "log name not in the file name; channel "
                                     f"guessed from the event sources: {channel or 'unknown'}"))

    rows: list[dict[str, Any]] = []
    naive: list[datetime | None] = []
    dropped: dict[str, int] = {}
    rel = options.relevance
    for e in events:
        m = _DT.match(e["dt"])
        tm = _TIME.match(e["tm"]) if "tm" in e else None
        t = _to_naive(m, order, tm) if m else None
        if t is None:
            warnings.append(ParseWarning(source, f"line {e['line']}", f"unreadable date {e['dt']!r}"))
        provider = e["source"].strip() or None
        eid_full = int(e["id"])
        eid = eid_full & 0xFFFF
        if rel is not None and not rel.keep(provider, channel, eid):
            key = f"{provider}/{eid}"
            dropped[key] = dropped.get(key, 0) + 1
            continue
        level_text = e["level"].strip()
        lvl, audit = LEVEL_WORDS.get(_norm(level_text), (None, None))
        msg = e["msg"].strip()
        if len(msg) >= 2 and msg[0] == msg[-1] == '"':
            msg = msg[1:-1].replace('""', '"')
        fields = fields_from_message(provider, eid, msg)
        data: dict[str, Any] = dict(fields)
        if fields:
            data["_from_message"] = True
        if eid_full > 0xFFFF:
            data["Qualifiers"] = eid_full >> 16
        cat = e["cat"].strip()
        if cat:
            data["TaskCategory"] = cat
        data["LevelText"] = level_text
        if audit:
            data["audit"] = audit
        if lvl is None and level_text:
            data["_level_unknown"] = True
        data["time_local"] = e["dt"].strip() + (" " + e["tm"].strip() if "tm" in e else "")
        cols = event_columns(provider, eid, fields) if fields else {}
        user = cols.get("user")
        if "user" in e:
            u = e["user"].strip()
            if u and u.upper() not in ("N/A", "NV", "-", "NON DISPONIBLE", "N/D", "Н/Д"):
                if user and user != u:
                    data["EventUser"] = u          # the record's user SID, as the export named it
                user = user or u
        rows.append({
            "host": (e.get("computer") or "").strip() or None, "locator": f"line {e['line']}",
            "kind": INFO.kind, "provider": provider, "channel": channel, "event_id": eid,
            "level": lvl, "user": user, "sid": cols.get("sid"), "ip": cols.get("ip"),
            "port": cols.get("port"), "session_id": cols.get("session_id"),
            "message": _WS.sub(" ", msg).strip() or None, "data": data_json(data),
        })
        naive.append(t)

    _warn_skipped(source, skipped, warnings)
    frame = _frame(rows, naive, zone, source, warnings)
    stats: dict[str, Any] = {"records": len(frame),
                             "records_expected": len(events) + sum(
                                 1 for x in skipped if x["reason"].startswith("event row")),
                             "skipped": skipped, "layout": layout, "date_order": order,
                             "tz": zdesc or None, "language": lang or None}
    if dropped:
        stats["dropped"] = dropped
    hosts = [r["host"] for r in rows if r["host"]]
    meta = {"host": Counter(hosts).most_common(1)[0][0] if hosts else None}
    return ParseResult(frame=frame, warnings=warnings, stats=stats, meta=meta, parser=INFO.name)


#: PowerShell property → role (Get-WinEvent's EventLogRecord, Get-EventLog's EventLogEntry)
_PS_ROLES = {
    "TimeCreated": "time", "TimeGenerated": "time", "Id": "id", "EventID": "id",
    "InstanceId": "instance", "ProviderName": "provider", "Source": "provider",
    "LevelDisplayName": "level_text", "EntryType": "level_text", "Level": "level",
    "LogName": "channel", "MachineName": "host", "RecordId": "record", "Index": "record",
    "Message": "message", "UserName": "user", "UserId": "sid", "ProcessId": "pid",
    "Qualifiers": "qualifiers", "KeywordsDisplayNames": "keywords", "TaskDisplayName": "task",
}


def _parse_powershell(text: str, source: str, options: ParseOptions, line_offset: int,
                      name: str | None) -> ParseResult:
    """``Get-WinEvent … | Export-Csv`` / ``Get-EventLog … | Export-Csv`` (any column subset;
    times are local, in the exporting culture's format)."""
    warnings: list[ParseWarning] = []
    lines = text.splitlines(keepends=True)
    type_line = lines[0] if lines and lines[0].startswith("#TYPE") else ""
    body = lines[1:] if type_line else lines
    delim = _delimiter(body[0]) if body else ","
    reader = csv.reader(body, delimiter=delim)
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error):
        return ParseResult(frame=empty_frame(), warnings=[ParseWarning(source, "line 1", "no events")],
                           stats={"records": 0, "records_expected": 0}, parser=INFO.name)
    roles = {i: _PS_ROLES[h] for i, h in enumerate(header) if h in _PS_ROLES}
    first_line = line_offset + (2 if type_line else 1)
    # Get-EventLog's #TYPE line names the log: System.Diagnostics.EventLogEntry#System/…
    m = re.search(r"EventLogEntry#([^/\r\n]+)/", type_line)
    type_channel = m.group(1) if m else None
    recs: list[tuple[int, dict[str, str]]] = []
    skipped: list[dict[str, Any]] = []
    prev = first_line
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            skipped.append({"line": prev + 1, "length": 0, "reason": f"CSV error: {e}"})
            continue
        start = prev + 1
        prev = first_line + reader.line_num - 1
        if not row or not any(x.strip() for x in row):
            continue
        vals = {roles[i]: v for i, v in enumerate(row) if i in roles}
        if not (vals.get("id") or vals.get("instance")) or not _ID.match(vals.get("id") or vals.get("instance") or ""):
            skipped.append({"line": start, "length": len(delim.join(row)),
                            "reason": "row without a numeric event id"})
            continue
        recs.append((start, vals))
    pairs = []
    seps = set()
    for _, v in recs:
        tv = v.get("time", "")
        mm = _DT.match(tv)
        if mm and len(mm.group("a")) < 4:
            pairs.append((int(mm.group("a")), int(mm.group("b"))))
            seps.add(tv.translate(_MARKS).strip()[len(mm.group("a"))])
    # the culture's separator tells the order when the numbers do not: "01.03.2024" is
    # day-first (German, Russian ...), "3/1/2024" month-first (en-US)
    order = _date_order(pairs, "", next(iter(seps)) if len(seps) == 1 else "/")
    if pairs and not any(a > 12 or b > 12 for a, b in pairs):
        by_locale = _locale_order(options.locale_hint)
        if by_locale:
            order = by_locale
        else:
            warnings.append(ParseWarning(source, "line 1", "day/month order not decidable from "
                                         f"the dates (no day above 12); assumed {order}"))
    zone, zdesc = _zone(options.tz_hint, source, warnings)
    file_channel = channel_from_name(name or PurePath(source).name) or type_channel
    rows: list[dict[str, Any]] = []
    naive: list[datetime | None] = []
    dropped: dict[str, int] = {}
    rel = options.relevance
    for line, v in recs:
        mm = _DT.match(v.get("time", ""))
        t = _to_naive(mm, order) if mm else None
        if t is None:
            warnings.append(ParseWarning(source, f"line {line}", f"unreadable time {v.get('time')!r}"))
        full = int((v.get("instance") if v.get("instance") and _ID.match(v["instance"]) else v.get("id")).strip())
        eid = full & 0xFFFF
        provider = (v.get("provider") or "").strip() or None
        channel = (v.get("channel") or "").strip() or file_channel
        if rel is not None and not rel.keep(provider, channel, eid):
            key = f"{provider}/{eid}"
            dropped[key] = dropped.get(key, 0) + 1
            continue
        level_text = (v.get("level_text") or "").strip()
        lvl, audit = LEVEL_WORDS.get(_norm(level_text), (None, None))
        if v.get("level", "").strip().isdecimal():
            lvl = int(v["level"])
        kw = (v.get("keywords") or "")
        if audit is None:
            k = _norm(kw)
            audit = "success" if ("audit success" in k or "successaudit" in k) else \
                "failure" if ("audit failure" in k or "failureaudit" in k) else None
        msg = (v.get("message") or "").strip()
        fields = fields_from_message(provider, eid, msg)
        data: dict[str, Any] = dict(fields)
        if fields:
            data["_from_message"] = True
        q = (v.get("qualifiers") or "").strip()
        if q.isdecimal():
            data["Qualifiers"] = int(q)
        elif full > 0xFFFF:
            data["Qualifiers"] = full >> 16
        if level_text:
            data["LevelText"] = level_text
        if audit:
            data["audit"] = audit
        if (v.get("task") or "").strip():
            data["TaskCategory"] = v["task"].strip()
        data["time_local"] = (v.get("time") or "").strip()
        cols = event_columns(provider, eid, fields) if fields else {}
        sid = (v.get("sid") or "").strip()
        user = (v.get("user") or "").strip()
        pid = (v.get("pid") or "").strip()
        rec = (v.get("record") or "").strip()
        rows.append({
            "host": (v.get("host") or "").strip() or None, "locator": f"line {line}",
            "kind": INFO.kind, "provider": provider, "channel": channel, "event_id": eid,
            "level": lvl if lvl is None or -128 <= lvl < 128 else None,
            "record_id": int(rec) if rec.isdecimal() else None,
            "user": cols.get("user") or (user if user and user.upper() != "N/A" else None),
            "sid": sid if sid.startswith("S-1-") else cols.get("sid"),
            "pid": int(pid) if pid.isdecimal() else None,
            "ip": cols.get("ip"), "port": cols.get("port"), "session_id": cols.get("session_id"),
            "message": _WS.sub(" ", msg).strip() or None, "data": data_json(data),
        })
        naive.append(t)
    if rows and any(r["channel"] is None for r in rows):
        guess = channel_from_sources([r["provider"] or "" for r in rows])
        for r in rows:
            r["channel"] = r["channel"] or guess
        warnings.append(ParseWarning(source, "line 1", "log name not in the export or the file "
                                     f"name; channel guessed from the event sources: {guess or 'unknown'}"))
    _warn_skipped(source, skipped, warnings)
    frame = _frame(rows, naive, zone, source, warnings)
    stats: dict[str, Any] = {"records": len(frame), "records_expected": len(recs) + len(skipped),
                             "skipped": skipped, "layout": "powershell", "date_order": order,
                             "tz": zdesc or None}
    if dropped:
        stats["dropped"] = dropped
    hosts = [r["host"] for r in rows if r["host"]]
    meta = {"host": Counter(hosts).most_common(1)[0][0] if hosts else None}
    return ParseResult(frame=frame, warnings=warnings, stats=stats, meta=meta, parser=INFO.name)


def _frame(rows: list[dict[str, Any]], naive: list[datetime | None], zone, source: str = "",
           warnings: list | None = None) -> pd.DataFrame:
    if not rows:
        return empty_frame()
    df = pd.DataFrame(rows)
    t = pd.to_datetime(pd.Series(naive, dtype="object"), errors="coerce")
    newest_first = _newest_first(t)
    t = t.dt.tz_localize("UTC") if zone is None else \
        _localize(t, zone, source, warnings, newest_first)
    df["time"] = t.astype(TIME_DTYPE).array
    if newest_first:
        # oldest first, so events of the same second keep their real order once the
        # timeline sorts by time (a disconnect and the next logon of one second were swapped)
        df = df.iloc[::-1].reset_index(drop=True)
    return conform(df)


def _newest_first(t: pd.Series) -> bool:
    """Event Viewer and PowerShell write the newest event first."""
    d = t.dropna().diff().dropna()
    return bool((d < pd.Timedelta(0)).sum() > (d > pd.Timedelta(0)).sum())


def _localize(t: pd.Series, zone, source: str, warnings: list | None,
              newest_first: bool) -> pd.Series:
    """Local times → UTC. The hour repeated when DST ends is told apart by the order of the
    events ("infer"), which needs them oldest first: Event Viewer and PowerShell write newest
    first, so such an export is read backwards. A time in the hour DST skips cannot be on
    that clock: it is shifted forward and said, as the zone is then probably wrong."""
    full = t.iloc[::-1] if newest_first else t
    s = full.dropna()                     # (a NaT in the repeated hour defeats "infer")
    try:
        loc = s.dt.tz_localize(zone, ambiguous="infer", nonexistent="NaT")
    except Exception:  # not inferable (events out of order): take standard time, say so
        loc = s.dt.tz_localize(zone, ambiguous=[False] * len(s), nonexistent="NaT")
        if warnings is not None:
            warnings.append(ParseWarning(source, "line 1", "times in the hour repeated when "
                                         "daylight saving time ends could not be ordered; "
                                         "read as standard time (an hour may be off)"))
    gap = loc.isna() & s.notna()
    if gap.any():
        loc[gap] = s[gap].dt.tz_localize(zone, ambiguous=[False] * int(gap.sum()),
                                         nonexistent="shift_forward")
        if warnings is not None:
            warnings.append(ParseWarning(source, "line 1", f"{int(gap.sum())} time(s) fall in "
                                         "the hour skipped when daylight saving time starts: "
                                         "shifted forward; is the time zone right?"))
    loc = loc.dt.tz_convert("UTC").reindex(full.index)
    if newest_first:
        loc = loc.iloc[::-1]
    return loc


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    options = options or ParseOptions()
    path = Path(path)
    dec, warnings, nbytes = read_file(path, options)
    res = parse_text(dec.text, str(path), options, name=path.name)
    res.warnings = warnings + res.warnings
    res.stats["bytes_read"] = nbytes
    res.stats["encoding"] = dec.encoding
    return res


__all__ = ["INFO", "sniff", "sniff_text", "parse", "parse_text", "resolve_tz",
           "fields_from_message", "LEVEL_WORDS", "HEADER_NAMES"]
