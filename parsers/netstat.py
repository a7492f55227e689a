"""``netstat`` output of Windows (XP/2003 … 11/2025), in any language and encoding.

Input: ``netstat -ano``, ``-a -o``, ``-an`` / ``-a`` (no PID column: rows kept, one warning),
``-abno`` / ``-anobq`` (owner lines under a row: service names, ``[image.exe]``, "Can not
obtain ownership information" in any language), ``-t`` (trailing offload state), ``BOUND``
rows (``-q``), TCP/UDP over IPv4/IPv6 (``[::]:3389``, zone ids ``%12``). Rows are recognised
by shape (``proto addr:port addr:port [state] [pid] [offload]``), not by header text, so
localized titles/headers, missing headers (a ``findstr``-filtered capture) and pasted
fragments all parse. Host and port split on the *last* colon; ``-a`` without ``-n`` prints
names (``MYPC:0``, ``0.0.0.0:ms-wbt-server``): well-known service names map back to ports.

Rows (``kind="netstat"``, ``event_type="net:socket"``, ``time`` NaT — a state snapshot):
``pid`` (Int64, <NA> without ``-o``), ``ip``/``port`` = the LOCAL address/port, ``locator``
``line N``; ``data``: ``proto`` ("TCP"/"UDP"), ``local``, ``remote``, ``remote_ip``,
``remote_port``, ``state`` (English name: LISTENING, ESTABLISHED, TIME_WAIT, CLOSE_WAIT,
SYN_SENT, SYN_RECEIVED, FIN_WAIT_1, FIN_WAIT_2, LAST_ACK, CLOSING, CLOSED, BOUND, DELETE_TCB;
None for UDP), ``state_original``, ``listening`` (TCP row whose foreign port is 0, e.g.
``0.0.0.0:0`` / ``[::]:0`` / ``MYPC:0``, or state LISTENING), ``services`` (list, from -b),
``image`` (from -b), ``owner_unknown`` (bool), ``offload`` (from -t), ``ipv6``.

Windows ends every line with CRLF: a file whose last line has no line break was cut there
(a copy taken while written, a truncated upload). That line's last field may be a fragment
(``LISTENING  16`` of PID 1668, ``10.0.0.9:5`` of port 52311), so it is not read — the PID or
foreign port is left empty, ``data["cut"]`` keeps the fragment — and a warning gives the line
(``parse``; ``parse_text(..., file_end=True)`` for a file's whole text).

``meta["host"]`` is set when name-resolved output shows the computer's own name as the
foreign address of listening sockets (``MYPC:0``).

>>> r = parse_text("  TCP    0.0.0.0:3389    0.0.0.0:0    ABHÖREN    1668\\n", "x")
>>> r.frame.loc[0, "port"], r.frame.loc[0, "pid"]
(np.int32(3389), np.int64(1668))
"""
from __future__ import annotations

import functools
import ipaddress
import re
from pathlib import Path
from typing import Any

from . import text as T
from .base import ParseOptions, ParseResult, ParserInfo, data_json, result_from_rows, warn

INFO = ParserInfo(name="netstat", kind="netstat", text=True,
                  description="Windows netstat -ano / -a -o / -an / -abno / -anobq / -t output",
                  sniffs="rows 'TCP|UDP addr:port addr:port [state] [pid]' (any language, "
                         "with or without header)")

_PROTO = r"(?P<proto>TCP|UDP|TCPv6|UDPv6)"
_ADDR = r"(?:\[[0-9A-Za-z:.%]+\]|[^\s\[\]]+):(?:\d+|\*|[A-Za-z][\w.-]*)"
_ROW = re.compile(r"^\s*" + _PROTO + r"\s+(?P<local>" + _ADDR + r")\s+(?P<remote>" + _ADDR
                  + r"|\*:\*)(?P<rest>(?:\s+\S+)*)\s*$")
_OFFLOAD = {"inhost", "offloaded", "offloading", "uploading", "offload", "inhost."}

#: Localized state words (upper-cased) → English. English words map to themselves.
STATES: dict[str, str] = {}
_STATE_SYNONYMS = {
    "LISTENING": ["LISTEN", "ABHÖREN", "ABHOREN", "ESCUCHANDO", "ÉCOUTE", "ECOUTE", "EN ÉCOUTE",
                  "IN ASCOLTO", "ESCUTANDO", "OUVINDO", "LUISTEREN", "LYSSNAR", "LYTTER",
                  "KUUNTELEE", "NASŁUCHIWANIE", "NASLOUCHÁNÍ", "FIGYELÉS", "DİNLENİYOR",
                  "DINLENIYOR", "ПРОСЛУШИВАНИЕ", "ПРОСЛУШ", "ОЖИДАНИЕ ВХОДЯЩИХ", "수신 대기", "수신",
                  "待ち受け", "监听", "侦听", "LYTTAR"],
    "ESTABLISHED": ["HERGESTELLT", "ESTABLECIDO", "ESTABLECIDA", "ÉTABLI", "ETABLI", "STABILITO",
                    "STABILITA", "ESTABELECIDA", "ESTABELECIDO", "TOT STAND GEBRACHT",
                    "ETABLERAD", "ETABLERET", "MUODOSTETTU", "USTANOWIONE", "NAVÁZÁNO",
                    "LÉTREJÖTT", "KURULDU", "УСТАНОВЛЕНО", "設定済み", "연결됨", "已建立"],
    "TIME_WAIT": ["WARTEND", "ZEIT_WARTEN", "TIEMPO_ESPERA", "TEMPS_ATTENTE", "ATTENTE_TEMPS",
                  "ATTESA_TEMPO", "TEMPO_ESPERA", "ВРЕМЯ_ОЖИДАНИЯ", "ОЖИДАНИЕ"],
    "CLOSE_WAIT": ["SCHLIESSEN_WARTEN", "SCHLIEßEN_WARTEN", "CIERRE_ESPERA", "ATTENTE_FERMETURE",
                   "FERMETURE_ATTENTE", "ATTESA_CHIUSURA", "ESPERA_FECHAMENTO", "ЗАКРЫТИЕ_ОЖИДАНИЕ"],
    "SYN_SENT": ["SYN_GESENDET", "SYN_ENVIADO", "SYN_ENVOYÉ", "SYN_ENVOYE", "SYN_INVIATO",
                 "SYN_ОТПРАВЛЕН"],
    "SYN_RECEIVED": ["SYN_RECV", "SYN_EMPFANGEN", "SYN_RECIBIDO", "SYN_REÇU", "SYN_RECU",
                     "SYN_RICEVUTO", "SYN_RECEBIDO", "SYN_ПОЛУЧЕН"],
    "FIN_WAIT_1": ["FIN_WARTEN_1", "FIN_ESPERA_1", "FIN_ATTENTE_1", "FIN_ATTESA_1"],
    "FIN_WAIT_2": ["FIN_WARTEN_2", "FIN_ESPERA_2", "FIN_ATTENTE_2", "FIN_ATTESA_2"],
    "LAST_ACK": ["LETZTE_BEST", "ÚLTIMO_ACK", "DERNIER_ACK", "ULTIMO_ACK"],
    "CLOSING": ["SCHLIESSEN", "SCHLIEßEN", "CERRANDO", "FERMETURE", "IN_CHIUSURA"],
    "CLOSED": ["GESCHLOSSEN", "CERRADO", "FERMÉ", "FERME", "CHIUSO", "FECHADO", "ЗАКРЫТО"],
    "BOUND": ["GEBUNDEN", "ENLAZADO", "VINCULADO", "LIÉ", "LIE", "ASSOCIATO", "СВЯЗАНО", "ПРИВЯЗАН"],
    "DELETE_TCB": ["TCB_LÖSCHEN"],
}
for _en, _words in _STATE_SYNONYMS.items():
    STATES[_en] = _en
    for _w in _words:
        STATES[_w.upper()] = _en

#: Port names ``netstat -a`` prints without ``-n`` (Windows ``services`` file).
PORT_NAMES = {
    "ms-wbt-server": 3389, "epmap": 135, "microsoft-ds": 445, "netbios-ssn": 139,
    "netbios-ns": 137, "netbios-dgm": 138, "http": 80, "https": 443, "ftp": 21, "ssh": 22,
    "telnet": 23, "smtp": 25, "domain": 53, "bootps": 67, "bootpc": 68, "ntp": 123,
    "snmp": 161, "ldap": 389, "kerberos": 88, "isakmp": 500, "ms-sql-s": 1433, "ms-sql-m": 1434,
    "llmnr": 5355, "wsd": 3702, "ws-discovery": 3702, "ssdp": 1900, "rdp": 3389, "msrpc": 135,
    "wsman": 5985, "wsmans": 5986, "ldaps": 636, "pop3": 110, "imap": 143, "ipsec-msft": 4500,
    "mdns": 5353, "router": 520, "syslog": 514, "nfs": 2049, "msft-gc": 3268,
    "msft-gc-ssl": 3269, "kpasswd": 464, "http-alt": 8080, "http-rpc-epmap": 593,
}

#: Phrases netstat -b prints when it cannot name the owner (lower-cased fragments).
_NO_OWNER = ("can not obtain ownership", "cannot obtain ownership", "impossible d",
             "propriétaire", "no se puede obtener", "información de propiedad",
             "besitzerinformationen", "besitzer", "не удается получить", "сведения о владельце",
             "impossibile ottenere", "não é possível obter", "所有者情報", "소유권 정보",
             "无法获取所有权", "所有权信息")

_TITLE_WORDS = ("active connections", "aktive verbindungen", "connexions actives",
                "conexiones activas", "активные подключения", "connessioni attive",
                "conexões ativas", "actieve verbindingen", "aktywne połączenia", "活动连接",
                "アクティブな接続", "활성 연결", "aktiva anslutningar", "aktive forbindelser")


def split_addr(addr: str) -> tuple[str | None, int | None, str | None]:
    """``[fe80::1%12]:3389`` → ("fe80::1%12", 3389, None); ``0.0.0.0:ms-wbt-server`` →
    ("0.0.0.0", 3389, "ms-wbt-server"); ``*:*`` → ("*", None, None). Splits on the last colon."""
    if ":" not in addr:
        return (addr or None), None, None
    host, _, port = addr.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    name = None
    if port.isdecimal():
        p: int | None = int(port) if len(port) <= 5 else None
        if p is not None and p > 65535:
            p = None
    elif port == "*":
        p = None
    else:
        name = port
        p = PORT_NAMES.get(port.lower())
    return (host or None), p, name


def _is_ip(host: str | None) -> bool:
    if not host:
        return False
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        return host == "*"


def is_row(line: str) -> bool:
    return _ROW.match(line) is not None


def _is_title(line: str) -> bool:
    s = line.strip().casefold()
    return any(s == t for t in _TITLE_WORDS)


def _is_header(line: str) -> bool:
    """A header line: 4–6 column names starting with ``Proto`` or its translation."""
    s = line.strip()
    if not s or _ROW.match(line):
        return False
    first = s.split()[0].casefold()
    if first in ("proto", "протокол", "имя", "protocolo", "protocollo", "協定", "프로토콜", "协议"):
        return len(s.split()) >= 3
    g = T.groups(line)
    return len(g) in (4, 5, 6) and g[-1][2] in ("PID", "ИД", "Offload State") and len(s) < 120


def _owner_kind(line: str) -> str | None:
    """'image', 'service', 'module', 'unknown' for a -b owner line, None for anything else."""
    s = line.strip()
    if not s or not line[:1].isspace() and not s.startswith("["):
        return None
    if s.startswith("[") and s.endswith("]"):
        return "image"
    if s.startswith("--") and s.endswith("--"):  # XP/2003 -bv: "-- unknown component(s) --"
        return "module"
    low = s.casefold()
    if any(p in low for p in _NO_OWNER):
        return "unknown"
    if "\\" in s or low.endswith(".dll") or low.endswith(".exe"):
        return "module"
    if " " not in s and len(s) <= 80:
        return "service"
    return None


def sniff_text(text: str) -> bool:
    """Two netstat rows among the first lines, or a title/header followed by a row."""
    lines = T.split_lines(text)[:200]
    rows = sum(1 for ln in lines if _ROW.match(ln))
    if rows >= 2:
        return True
    if rows == 1:  # `netstat -ano | findstr :3389` can leave a single row
        other = [ln for ln in lines if ln.strip() and not _ROW.match(ln) and not _owner_kind(ln)
                 and not ln.startswith("#")]
        return len(other) <= 1 or any(_is_title(ln) or _is_header(ln) for ln in lines[:20])
    return False


def block_spans(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) 0-based half-open line ranges of netstat outputs in ``lines``."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(lines)
    while i < n:
        if not _ROW.match(lines[i]):
            i += 1
            continue
        start = i
        # take the title / header / blank lines right above the first row
        k = i - 1
        while k >= 0 and i - k <= 4 and (not lines[k].strip() or _is_header(lines[k])
                                           or _is_title(lines[k])):
            if _is_title(lines[k]) or _is_header(lines[k]):
                start = k
            k -= 1
        j = last = i
        while j + 1 < n:
            nxt = lines[j + 1]
            if _ROW.match(nxt) or (_owner_kind(nxt) and lines[j].strip()):
                j = last = j + 1
                continue
            if not nxt.strip():  # a blank line inside the table only if a row follows
                k = j + 1
                while k < n and k - j <= 3 and not lines[k].strip():
                    k += 1
                if k < n and _ROW.match(lines[k]):
                    j = last = k
                    continue
            break
        # one row is a block too: ``netstat -ano | findstr :3389``, the usual check, prints
        # exactly one line (a row's shape — protocol, two endpoints — is specific enough)
        spans.append((start, last + 1))
        i = last + 1
    return spans


def _row(m: re.Match, lineno: int, source: str, cut: bool = False) -> dict[str, Any]:
    """One socket row. ``cut``: the line is the cut end of the file — its last field, unless
    blanks follow it or it is a whole state or offload word, is a fragment and not read."""
    proto = m.group("proto").upper().replace("V6", "")
    local, remote = m.group("local"), m.group("remote")
    rest = m.group("rest").split()
    lost = None
    port_lost = False
    if cut and not m.string[-1:].isspace():
        if rest and rest[-1].upper() not in STATES and rest[-1].casefold() not in _OFFLOAD:
            lost = rest.pop()
        elif not rest and not remote.endswith((":0", ":*")):
            lost = remote.rpartition(":")[2]       # the foreign port: "5" of 52311
            port_lost = True
    offload = None
    if rest and rest[-1].casefold() in _OFFLOAD:
        offload = rest.pop()
    pid = None
    if rest and rest[-1].isdecimal() and len(rest[-1]) <= 10:    # (a PID is 32 bits; int()
        pid = int(rest.pop())                                       # refuses 4,300+ digits)
    state_original = " ".join(rest) or None
    state = None
    if state_original:
        state = STATES.get(state_original.upper(), state_original.upper())
    lip, lport, lname = split_addr(local)
    rip, rport, _ = split_addr(remote)
    if port_lost:
        rport = None
    # by shape when the state word is unknown (a language we have no table for); a known
    # other state (BOUND from -q, CLOSED...) on a 0.0.0.0:0 foreign address is not a listener
    by_shape = rport == 0 and remote.endswith(":0") and state not in _STATE_SYNONYMS
    listening = proto == "TCP" and (state == "LISTENING" or by_shape)
    if listening and state is None:
        state = "LISTENING"
    data = {"proto": proto, "local": local, "remote": remote, "remote_ip": rip,
            "remote_port": rport, "state": state, "state_original": state_original,
            "listening": listening, "services": [], "image": None, "owner_unknown": False,
            "offload": offload, "ipv6": ":" in (lip or "")}
    if lname:
        data["local_port_name"] = lname
    if lost is not None:
        data["cut"] = lost          # the fragment the file ends with, not read
    return {"kind": "netstat", "event_type": "net:socket", "locator": f"line {lineno}",
            "pid": pid, "ip": lip, "port": lport, "_data": data,
            "message": f"{proto} {local} {remote} {state_original or ''} {pid if pid is not None else ''}".strip()}


def parse_text(text: str, source: str, options: ParseOptions | None = None,
               line_offset: int = 0, *, file_end: bool | str = False) -> ParseResult:
    """``file_end``: the end of ``text`` is the end of the file (not of a block cut out of a
    longer text): a last line without its line break is then taken as cut (see
    :func:`parsers.text.cut_line`)."""
    lines = T.split_lines(text)
    cut = T.cut_line(text, lines, file_end)
    warnings: list = []
    rows: list[dict[str, Any]] = []
    junk = 0
    header_seen = title_seen = False
    host_votes: dict[str, int] = {}
    last: dict[str, Any] | None = None
    for i, (no, ln) in enumerate(T.iter_numbered(lines, line_offset)):
        if not ln.strip():
            continue
        m = _ROW.match(ln)
        if i == cut:
            row = _row(m, no, source, cut=True) if m else None
            whole = row is not None or _owner_kind(ln) == "image"   # ("[svchost.exe]" is closed)
            lost = row["_data"].get("cut") if row else None
            short = row is not None and row["pid"] is None and any(
                r["pid"] is not None for r in rows)     # (cut before its PID)
            if lost is not None or short or not whole:
                warn(warnings, source, no,
                     "the file ends inside this line (no line break after it, where netstat "
                     "ends every line with one): it was cut here"
                     + (f"; its last field {lost!r} may be a fragment and was not read"
                        if lost is not None else "; its PID is missing" if short
                        else "; not read"))
            if not whole:
                continue
        if m:
            last = row if i == cut else _row(m, no, source)
            rows.append(last)
            d = last["_data"]
            if d["listening"] and d["remote_ip"] and not _is_ip(d["remote_ip"]):
                name = d["remote_ip"].split(".")[0].upper()
                if name and name != "LOCALHOST":
                    host_votes[name] = host_votes.get(name, 0) + 1
            continue
        kind = _owner_kind(ln)
        if kind and last is not None:
            d = last["_data"]
            s = ln.strip()
            if kind == "image":
                d["image"] = s[1:-1].strip() or None
            elif kind == "service":
                d["services"].append(s)
            elif kind == "unknown":
                d["owner_unknown"] = True
                d["owner_message"] = s
            else:
                d.setdefault("modules", []).append(s)
            continue
        if _is_title(ln):
            title_seen = True
            continue
        if _is_header(ln):
            header_seen = True
            continue
        junk += 1
        if rows:  # text inside the table we cannot read
            warn(warnings, source, no, f"not a netstat row, skipped: {ln.strip()[:80]!r}")
    unknown = sorted({r["_data"]["local_port_name"] for r in rows
                      if r["port"] is None and r["_data"].get("local_port_name")})
    if unknown:
        warn(warnings, source, f"line {line_offset + 1}",
             f"port name(s) without a known number ({', '.join(unknown[:10])}): those sockets "
             "have no port; `netstat -ano` prints numbers")
    if rows and not (header_seen or title_seen):
        # `netstat -ano | findstr :443` prints rows only: a socket missing from them may
        # just be filtered out, so detectors must not read absence from such a capture
        for r in rows:
            r["_data"]["headerless"] = True
        warn(warnings, source, f"line {line_offset + 1}",
             "netstat rows without their header: possibly filtered output (findstr); a port "
             "missing from it is taken as closed only if the rows are not all of one port "
             "or one PID (`findstr LISTENING` keeps every listener)")
    for r in rows:
        r["data"] = data_json(r.pop("_data"))
    if rows and all(r["pid"] is None for r in rows):
        warn(warnings, source, f"line {line_offset + 1}",
             "no PID column (netstat run without -o): sockets cannot be tied to processes")
    meta: dict[str, Any] = {}
    if host_votes:
        meta["host"] = max(host_votes, key=host_votes.get)
    stats = {"header": header_seen, "title": title_seen, "junk_lines": junk,
             "with_pid": any(r["pid"] is not None for r in rows)}
    return result_from_rows(rows, parser="netstat", warnings=warnings, stats=stats, meta=meta)


def sniff(head: bytes, name: str = "") -> bool:
    return T.sniff_head(head, sniff_text)


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    return T.parse_file(path, options, functools.partial(parse_text, file_end=True),
                        kind="netstat")
