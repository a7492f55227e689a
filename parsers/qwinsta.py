"""``qwinsta`` / ``query session`` and ``quser`` / ``query user`` output (Windows 2003 …
11/2025), any language.

Input layout (columns are sliced from the header line, never hard-coded — Windows 10/11 widen
SESSIONNAME)::

     SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE
     services                                    0  Disc
    >console           Administrator             1  Active
     rdp-tcp#3         jdoe                      3  Active
                       asmith                    4  Disc
     rdp-tcp                                 65536  Listen

The first column is the ``>`` marker of the session running the command; SESSIONNAME is blank
for disconnected sessions, USERNAME blank for services/listeners; ID is right-aligned under
the ``ID`` header. 2003 fills TYPE (``wdcon`` console, ``rdpwd`` RDP) and DEVICE. Header
words and state words are localized (Russian ``СЕАНС  ПОЛЬЗОВАТЕЛЬ  ID  СТАТУС``, ``Активно``,
``Диск``, ``Прием``; Chinese ``会话名 … 状态``, ``运行中``, ``断开``, ``侦听``, as pasted from real
servers; older-looking forms such as ``Разъедин``/``Прослуш`` are kept too); states are normalised to Active, Conn, ConnQ, Shadow,
Disc, Idle, Listen, Reset, Down, Init (the original kept). Without a header line rows are read
by shape (``name [user] id state``), and quser rows by theirs (:func:`_quser_by_shape`: user,
[session], ID, a known state, idle time, a logon date and time; a header filtered out by
``quser | findstr /v USERNAME`` is said in a warning). A file of such quser rows alone is
recognised when every line is one (the last may be cut after two). ``/counter`` trailer lines
(``label: number``) go to ``stats["counters"]``.

``quser`` prints USERNAME first, the ``>`` marker before it, a blank SESSIONNAME for
disconnected sessions, and IDLE TIME / LOGON TIME after STATE::

     USERNAME              SESSIONNAME        ID  STATE   IDLE TIME  LOGON TIME
    >administrator         rdp-tcp#0           2  Active          .  10/19/2023 1:09 AM
     jdoe                                      3  Disc         1:05  10/18/2023 9:00 AM

Which of the two a header is follows from its first word (USERNAME or SESSIONNAME, in the
languages listed in :data:`_USER_WORDS` / :data:`_SESSION_WORDS`), else from the rows below it
(session names such as ``console``, ``rdp-tcp#2`` in the second column: quser). ``query
process`` output (USERNAME SESSIONNAME ID PID IMAGE) is no session table: one warning, not read.

Rows (``kind="qwinsta"``, ``event_type="session:winstation"``, ``time`` NaT): ``user``,
``session_id`` (Int64), ``locator`` ``line N``; ``data``: ``session_name``, ``state``,
``state_original``, ``type``, ``device``, ``current`` (bool), ``listener`` (bool: ID 65536 and
up, or state Listen), ``headerless`` (true on rows read before any header line: ``qwinsta`` always
prints one, so such a capture was cut or filtered — ``| findstr console`` — and a row missing
from it says nothing). quser rows have the same columns (``type``/``device`` None) plus
``command`` ("quser"), ``idle_time`` and ``logon_time`` (as printed). When one text holds both
(``query user || qwinsta``), each quser row is folded into the qwinsta row of its session id
(its ``idle_time``/``logon_time`` added, ``stats["quser_merged"]`` counts them): a session is
one row, not two against a session limit. Two tables with other lines between them (``quser``,
``ipconfig /all``, ``qwinsta`` in one log) are read as a multi-output file, and
:mod:`parsers.textlog` folds them only when nothing says they were taken at different times
(:func:`fold_quser`).

A file cut inside its last line (no line break after it; an output that does not begin with
its blank was trimmed and is not judged): a TYPE, DEVICE, IDLE TIME or LOGON TIME the line ends
in may be a fragment and is emptied (``data["cut"]`` keeps it) — a LOGON TIME followed by a
blank too when it may have lost its AM/PM (fewer words than the other rows' logon times) —, so
is a state word the line ends in that begins a longer state word of another state (``Verb``:
Dutch Verbonden or Verbroken; see :func:`_cut_state`), a line that no longer reads as a row
is not read, each with a warning giving the line.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pandas as pd

from . import text as T
from .base import ParseOptions, ParseResult, ParserInfo, data_json, result_from_rows, warn

INFO = ParserInfo(name="qwinsta", kind="qwinsta", text=True,
                  description="qwinsta / query session (2003 … 2025, any language, /counter) "
                              "and quser / query user",
                  sniffs="a SESSIONNAME … ID STATE or USERNAME SESSIONNAME ID STATE header "
                         "(any language) or rows such as 'rdp-tcp  65536  Listen'")

#: WTS_CONNECTSTATE_CLASS abbreviations and their localized forms (lower-case prefixes).
#: Whole words are looked up before prefixes: Dutch "Verbroken" (disconnected) must not be
#: taken for German "Verb." (connected). The nl/pl/cs/sv/it words are the Windows
#: terms as best known, not yet seen in a customer's capture.
STATES: dict[str, str] = {}
for _en, _words in {
    "Active": ["active", "aktiv", "actif", "activo", "attivo", "ativo", "actief", "aktywny",
               "aktywne", "aktivní",
               "активно", "активный", "активен", "运行中", "活动", "運用中", "アクティブ", "활성"],
    "Conn": ["conn", "connected", "verb", "verbunden", "verbonden", "connecté", "conectado",
             "connesso", "połączone", "připojeno", "ansluten",
             "подключено", "подкл", "已连接", "接続", "연결"],
    "ConnQ": ["connq", "connectquery"],
    "Shadow": ["shadow", "spiegeln", "spiegel", "clone", "sombra", "теневой", "тень", "影子",
               "シャドウ", "섀도"],
    "Disc": ["disc", "disconnected", "getr", "getrennt", "déco", "deco", "déconnecté", "desc",
             "desconectado", "disc.", "disconn", "disconnesso", "verbroken", "rozłączone",
             "odpojeno", "frånkopplad",
             "разъедин", "разъединено", "отключено", "диск",
             "断开", "切断", "연결 끊김", "끊김"],
    "Idle": ["idle", "leerlauf", "inactif", "inactivo", "inattivo", "простой", "бездействие",
             "空闲", "アイドル", "유휴"],
    "Listen": ["listen", "listening", "abhören", "abh", "écouter", "écoute", "ecoute", "escuchar",
               "escucha", "ascolto", "in ascolto", "escutar", "luisteren", "nasłuchiwanie",
               "naslouchání", "lyssnar",
               "прием", "приём", "прослуш", "прослушивание", "ожидание", "侦听",
               "监听", "待ち受け", "수신 대기", "수신"],
    "Reset": ["reset", "zurücksetzen", "réinitialiser", "restablecer", "сброс", "重置", "リセット",
              "다시 설정"],
    "Down": ["down", "inaktiv", "arrêté", "arrete", "inactiva", "не работает", "отключен", "关闭",
             "ダウン", "다운"],
    "Init": ["init", "initialisieren", "initialisation", "inicializar", "инициализация",
             "инициал", "初始化", "初期化", "초기화"],
}.items():
    STATES[_en.casefold()] = _en
    for _w in _words:
        STATES[_w.casefold()] = _en


def normalize_state(word: str | None) -> str | None:
    if not word:
        return None
    w = word.strip().casefold()
    if w in STATES:
        return STATES[w]
    w2 = w.rstrip(".")
    if w2 in STATES:
        return STATES[w2]
    for k in sorted(STATES, key=len, reverse=True):  # truncated forms: "Разъедин", "Прослуш"
        # (a longer word only by letters: "Listen'," closing a quote in prose is no state)
        if len(w2) >= 4 and len(k) >= 4 and (
                k.startswith(w2) or (w2.startswith(k) and w2[len(k):].isalpha())):
            return STATES[k]
    return None


_ID_WORDS = {"id", "ид", "kennung", "identificador", "n°", "№"}
_SESSION_WORDS = ("sessionname", "имя_сеанса", "сеанс", "sitzungsname", "session", "sesión", "nombre",
                  "セッション名", "会话名", "세션 이름", "nome sessione", "nom de session")
#: First header word of ``quser`` / ``query user`` (USERNAME before SESSIONNAME), as real
#: servers print it: `` USERNAME  SESSIONNAME  ID  STATE  IDLE TIME  LOGON TIME``, German
#: ``BENUTZERNAME  SITZUNGSNAME  ID  STATUS  LEERLAUF  ANMELDEZEIT``, French ``UTILISATEUR
#: SESSION  ID  ÉTAT  TEMPS INACT TEMPS SESSION``, Russian ``ПОЛЬЗОВАТЕЛЬ  СЕАНС  ID  СТАТУС
#: БЕЗДЕЙСТВ. ВРЕМЯ ВХОДА``, Chinese ``用户名  会话名  ID  状态  空闲时间  登录时间`` (public
#: pastes). The other languages' words are the Windows terms as best known. Looked up before
#: the session words: Spanish "NOMBRE DE USUARIO" starts like "NOMBRE DE SESIÓN".
_USER_WORDS = ("username", "user name", "benutzername", "utilisateur", "nom d'utilisateur",
               "nombre de usuario", "usuario", "nome utente", "nome de usuário",
               "nome do usuário", "gebruikersnaam", "nazwa użytkownika", "uživatelské jméno",
               "användarnamn", "пользователь", "имя_пользователя", "имя пользователя",
               "用户名", "使用者名稱", "ユーザー名", "사용자 이름")
#: Fragments of quser's IDLE TIME / LOGON TIME headers (qwinsta has TYPE / DEVICE there).
_QUSER_TAIL = ("idle", "logon", "leerlauf", "anmelde", "inact", "бездейств", "вход", "空闲",
               "登录", "アイドル", "ログオン", "유휴", "로그온", "tiempo", "inattiv", "ocioso")
#: ``query process`` prints USERNAME SESSIONNAME ID PID IMAGE: no session table.
_PID_WORDS = {"pid"}


def _header(line: str) -> dict[str, int] | None:
    """Column starts from a qwinsta or quser header line, or None when ``line`` is neither.

    ``layout`` is "qwinsta" (SESSIONNAME first), "quser" (USERNAME first) or None when the
    words do not tell (a language not known here): :func:`_resolve` then decides by rows.
    ``query process`` headers (USERNAME SESSIONNAME ID PID IMAGE) are no header here."""
    g = T.groups(line)
    if not 4 <= len(g) <= 7:
        return None
    words = [x[2].casefold() for x in g]
    try:
        idx = next(k for k, w in enumerate(words) if w in _ID_WORDS)
    except StopIteration:
        return None
    if idx != 2 or _is_qprocess(words):
        return None
    first = words[0].lstrip(">")
    layout: str | None = None
    if any(first.startswith(u) for u in _USER_WORDS):
        layout = "quser"
    elif any(first.startswith(s) for s in _SESSION_WORDS):
        layout = "qwinsta"
    elif any(f in w for w in words[4:] for f in _QUSER_TAIL):
        layout = "quser"
    elif len(g) < 5:
        return None
    cols = {"layout": layout, "session": g[0][0], "user": g[1][0], "id_start": g[2][0],
            "id_end": g[2][1], "state": g[3][0]}
    if layout == "quser":
        cols["user"], cols["session"] = g[0][0], g[1][0]
        return cols
    if len(g) >= 5:
        cols["type"] = g[4][0]
    if len(g) >= 6:
        cols["device"] = g[5][0]
    return cols


def _is_qprocess(words: list[str]) -> bool:
    return len(words) >= 4 and words[3] in _PID_WORDS


def _qprocess_header(line: str) -> bool:
    """The header of ``query process`` / ``qprocess`` (USERNAME SESSIONNAME ID PID IMAGE)."""
    g = T.groups(line)
    words = [x[2].casefold() for x in g]
    return 4 <= len(g) <= 7 and words[2] in _ID_WORDS and _is_qprocess(words)


def _resolve(c: dict[str, Any], following: list[str]) -> dict[str, Any]:
    """``c`` with its layout decided. A header in a language not known here is read as quser
    when the rows below it carry session names (``console``, ``rdp-tcp#2``) in the second
    column rather than the first, as qwinsta does."""
    if c["layout"] is not None:
        return c
    votes = 0
    for ln in following[:20]:
        if not ln.strip():
            break
        body = ln.replace(">", " ", 1) if ln.lstrip()[:1] == ">" else ln
        a = T.slice_cols(body, 0, c["user"]).strip()
        b = T.slice_cols(body, c["user"], c["id_start"]).strip()
        votes += bool(_SESSION_NAME.match(b)) - bool(_SESSION_NAME.match(a))
    if votes > 0:
        return {"layout": "quser", "user": c["session"], "session": c["user"],
                "id_start": c["id_start"], "id_end": c["id_end"], "state": c["state"]}
    return {**c, "layout": "qwinsta"}


#: Where qwinsta's USERNAME column starts (`` SESSIONNAME       USERNAME``).
_USER_COLUMN = 19

_SHAPE = re.compile(r"^(?P<cur>[ >])?\s*(?P<left>.*?)\s+(?P<id>\d{1,5})\s+(?P<state>\S+)"
                    r"(?:\s+(?P<type>\S+))?(?:\s+(?P<device>\S+))?\s*$")
_SESSION_NAME = re.compile(r"^(services|console|rdp-tcp(#\d+)?|ica-\S+|31c5ce94259d4006a9e4#\d+|"
                           r"rdp-\S+|\S+#\d+|\S+-tcp)$", re.IGNORECASE)


#: A user name as qwinsta prints it: no characters Windows forbids in one
#: (``" / \\ [ ] : ; | = , + * ? < >``), at most five words (``Jan van de Berg``).
_USER_NAME = re.compile(r'^[^"/\\\[\]:;|=,+*?<>\s]+(?: [^"/\\\[\]:;|=,+*?<>\s]+){0,4}$')


def _row_by_shape(line: str) -> dict[str, Any] | None:
    if len(line) > 400:
        # no session row is this long; _SHAPE's blanks are quadratic on a long run of them
        return None
    m = _SHAPE.match(line)
    if not m:
        return None
    state, typ, dev = m.group("state", "type", "device")
    if typ and f"{state} {typ}".casefold() in STATES:     # a two-word state (see _row_by_cols)
        state, typ, dev = f"{state} {typ}", dev, None
    if normalize_state(state) is None:
        return None
    # the session and user columns are apart by two spaces or more; a user name may hold
    # one (``John Smith``). A lone word far right of the session column is a user.
    text = m.group("left")
    left = re.split(r"\s{2,}", text.strip())
    if len(left) > 2 or (len(left) == 2 and " " in left[0]):
        return None
    sess = user = None
    if len(left) == 2:
        sess, user = left
    elif left[0]:
        at = m.start("left") + len(text) - len(text.lstrip())
        if at < _USER_COLUMN - 4 and _SESSION_NAME.match(left[0]):
            sess = left[0]
        else:
            user = left[0]
    if user is not None and not _USER_NAME.match(user):
        return None             # prose ("… by content: 'rdp-tcp … 65536 Listen',"), not a row
    return {"current": m.group("cur") == ">", "session_name": sess, "user": user,
            "id": m.group("id"), "state": state, "type": typ, "device": dev}


#: The end of a quser row: LOGON TIME, a date and a time (``10/19/2023 1:09 AM``,
#: ``19.10.2023 01:09``, ``2023/10/19 1:09``, Korean ``2023-10-19 오전 9:00``).
_LOGON_END = re.compile(r"(?<!\S)(\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\.?(?: [^\s\d]\S{0,5})?"
                        r" +\d{1,2}:\d{2}(?::\d{2})?(?: *[^\s\d]\S{0,5})?)\s*$")
#: quser's IDLE TIME: ``.``, ``none`` (in its language: ``Kein``, ``aucun``), minutes,
#: ``1:05``, ``2+03:04``.
_IDLE = re.compile(r"\.|[^\W\d_]{1,20}|\d{1,5}(?:\+\d{1,2})?(?::\d{2})?")


def _quser_by_shape(line: str) -> dict[str, Any] | None:
    """A quser row without its header (``quser | findstr /v USERNAME``, ``| select -skip 1``)
    read by its shape, strictly: [``>``]USERNAME, [SESSIONNAME (a session name's form), two
    blanks or more apart], a numeric ID, a known state word, IDLE TIME and a LOGON TIME date
    and time; None for anything else."""
    if len(line) > 400 or not line.strip():
        return None
    m = _LOGON_END.search(line)
    if not m:
        return None
    head = line[:m.start()]
    toks = head.split()
    if len(toks) < 4 or not _IDLE.fullmatch(toks[-1]):
        return None
    idle = toks[-1]
    state, k = toks[-2], len(toks) - 2
    if len(toks) >= 5 and f"{toks[-3]} {toks[-2]}".casefold() in STATES:
        state, k = f"{toks[-3]} {toks[-2]}", len(toks) - 3     # "연결 끊김"
    if normalize_state(state) is None or not (toks[k - 1].isdecimal() and len(toks[k - 1]) <= 5):
        return None
    sid = toks[k - 1]
    body = head.strip()
    cur = body.startswith(">")
    if cur:
        body = body[1:].lstrip()
    for t in (idle, *reversed(state.split()), sid):     # what is left: user [session]
        body = body[:len(body) - len(t)].rstrip()
    parts = re.split(r"\s{2,}", body)
    if len(parts) > 2 or not parts[0]:
        return None
    user, sess = parts[0], (parts[1] if len(parts) == 2 else None)
    if not _USER_NAME.match(user) or (sess is not None and not _SESSION_NAME.match(sess)):
        return None
    return {"current": cur, "session_name": sess, "user": user, "id": sid, "state": state,
            "type": None, "device": None, "idle_time": idle, "logon_time": m.group(1).strip()}


def _session_id(body: str, c: dict[str, Any]) -> tuple[re.Match, int, int] | None:
    """The ID number of a row (it ends at, or within two cells of, the end of the ID
    header) and its start and end column; None when the row has none there."""
    head = T.slice_cols(body, 0, c["id_end"] + 2)
    m = re.search(r"(\d{1,5})\s*$", head)
    if not m:
        return None
    id_start = T.display_width(head[: m.start(1)])
    id_end = T.display_width(head[: m.end(1)])
    if id_end < c["id_start"] - 1:
        return None
    return m, id_start, id_end


def _row_by_cols(line: str, c: dict[str, Any]) -> dict[str, Any] | None:
    if not line.strip():
        return None
    if c.get("layout") == "quser":
        return _quser_row(line, c)
    cur = line[:1] == ">" if c["session"] >= 1 else line.lstrip()[:1] == ">"
    body = (" " + line[1:]) if cur else line
    at = _session_id(body, c)
    if at is None:
        return None
    m, id_start, id_end = at
    left = T.slice_cols(body, 0, id_start)
    u = c["user"]
    sess_part = T.slice_cols(left, 0, u)
    user_part = T.slice_cols(left, u)
    if sess_part[-1:].strip() and user_part[:1].strip():
        # a long session name runs into the USERNAME column
        toks = left.split()
        sess_part, user_part = (toks[0], " ".join(toks[1:])) if toks else ("", "")
    right = T.slice_cols(body, id_end)
    toks = right.split()
    if not toks or toks[0].isdecimal():     # (a state is never a number: `query process`)
        return None
    state = toks[0]
    two = re.match(r"\s*(\S+ \S+)", right)
    if two and two.group(1).casefold() in STATES:     # "연결 끊김" (Disc; "연결" is Conn),
        state = two.group(1)                           # "In ascolto": a two-word state
        toks = [state, *toks[2:]]
    typ = dev = None
    if len(toks) > 1:
        rest_start = id_end + T.display_width(right[: right.index(state) + len(state)])
        if "type" in c:
            t_end = c.get("device")
            typ = T.slice_cols(body, max(rest_start, c["type"]), t_end).strip() or None
            if t_end is not None:
                dev = T.slice_cols(body, max(rest_start, t_end)).strip() or None
        else:
            typ, *more = toks[1:]
            dev = " ".join(more) or None
    return {"current": cur, "session_name": sess_part.strip() or None,
            "user": user_part.strip() or None, "id": m.group(1), "state": state,
            "type": typ, "device": dev}


def _quser_row(line: str, c: dict[str, Any]) -> dict[str, Any] | None:
    """A ``quser`` row: ``>``, USERNAME, SESSIONNAME (blank when disconnected), ID
    (right-aligned under ``ID``), STATE, IDLE TIME (one word: ``.``, ``none``, ``1:05``,
    ``2+03:04``), LOGON TIME (the rest of the line)."""
    cur = line.lstrip()[:1] == ">"
    body = line.replace(">", " ", 1) if cur else line
    at = _session_id(body, c)
    if at is None:
        return None
    m, id_start, id_end = at
    left = T.slice_cols(body, 0, id_start)
    user_part = T.slice_cols(left, 0, c["session"])
    sess_part = T.slice_cols(left, c["session"])
    if user_part[-1:].strip() and sess_part[:1].strip():
        # a long user name runs into the SESSIONNAME column
        toks = left.split()
        if len(toks) > 1 and _SESSION_NAME.match(toks[-1]):
            user_part, sess_part = " ".join(toks[:-1]), toks[-1]
        else:
            user_part, sess_part = " ".join(toks), ""
    right = T.slice_cols(body, id_end)
    toks = right.split()
    if not toks or toks[0].isdecimal():     # (a PID: `query process`, not a state)
        return None
    state, rest = toks[0], toks[1:]
    two = re.match(r"\s*(\S+ \S+)", right)
    if two and two.group(1).casefold() in STATES:     # "연결 끊김": a two-word state
        state, rest = two.group(1), toks[2:]
    return {"current": cur, "session_name": sess_part.strip() or None,
            "user": user_part.strip() or None, "id": m.group(1), "state": state,
            "type": None, "device": None, "idle_time": rest[0] if rest else None,
            "logon_time": " ".join(rest[1:]) or None}


_COUNTER = re.compile(r"^\s*(?P<label>[^:\d]{3,80}?)\s*:\s*(?P<n>\d+)\s*$")


def _counter(line: str) -> re.Match | None:
    """:data:`_COUNTER` on a line of a trailer's length: on a long run of blanks the pattern
    is quadratic (20,000 blanks: 25 s, in the deep text look of archive members too, where
    no time budget runs yet; found by fuzzing). A counter line is short."""
    return _COUNTER.match(line) if len(line) <= 200 else None


def _row_dict(f: dict[str, Any], lineno: int, headerless: bool) -> dict[str, Any]:
    sid = int(f["id"])
    state = normalize_state(f["state"])
    data = {"session_name": f["session_name"], "state": state, "state_original": f["state"],
            "type": f["type"], "device": f["device"], "current": bool(f["current"]),
            "listener": sid >= 65536 or state == "Listen"}
    if headerless:
        data["headerless"] = True
    if "logon_time" in f:       # a quser row
        data.update(command="quser", idle_time=f["idle_time"], logon_time=f["logon_time"])
    if f.get("_cut"):
        data["cut"] = f["_cut"]     # the fragment a cut file ends with, not read
    return {"kind": "qwinsta", "event_type": "session:winstation", "locator": f"line {lineno}",
            "user": f["user"], "session_id": sid, "_data": data,
            "message": " ".join(str(x) for x in (f["session_name"] or "", f["user"] or "", sid,
                                                  f["state"]) if x not in ("", None))}


def sniff_text(text: str) -> bool:
    lines = T.split_lines(text)[:200]
    for k, ln in enumerate(lines):
        c = _header(ln)
        if c is None:
            continue
        c = _resolve(c, lines[k + 1:])
        if c["layout"] == "quser":
            if any((r := _row_by_cols(x, c)) and normalize_state(r["state"])
                   for x in lines[k + 1:k + 6]):
                return True
        elif any(_row_by_shape(x) for x in lines[k + 1:k + 6]):
            return True
    # quser whose header was filtered out (`quser | findstr /v USERNAME`): every line a quser
    # row by its strict shape (known state word, numeric ID, a logon date and time) — but
    # the last, cut, after two rows or more
    body = [ln for ln in lines if ln.strip() and not _BETWEEN.match(ln)]
    if body and all(_quser_by_shape(ln) for ln in body[:-1]) and (
            len(body) >= 3 or _quser_by_shape(body[-1])):
        return True
    shaped = [r for r in (_row_by_shape(ln) for ln in lines) if r]
    anchors = [r for r in shaped if int(r["id"]) >= 65536 or (r["session_name"] or "").lower()
               .startswith(("rdp-tcp", "console", "services"))]
    # one listener row alone (`qwinsta | findstr rdp-tcp`): a session name and nothing else
    # in its columns — prose that quotes "rdp-tcp 65536 Listen" has words around it
    return len(anchors) >= 2 or any(
        int(r["id"]) == 65536 and normalize_state(r["state"]) == "Listen"
        and r["session_name"] and _SESSION_NAME.match(r["session_name"]) and not r["user"]
        and r["type"] in (None, "rdpwd", "wdcon") and not r["device"] for r in shaped)


#: A prompt or banner line between two command outputs (``C:\\>quser``, ``==== qwinsta ====``).
_BETWEEN = re.compile(r"^\s*(?:PS\s+)?[A-Za-z]:\\[^>]*>|^\s*[=*#~_-]{3,}")


def block_spans(lines: list[str]) -> list[tuple[int, int]]:
    """qwinsta / quser tables. A quser table next to a qwinsta table (only blank, prompt or
    banner lines between: ``query user || qwinsta``) is one block with it, so that
    :func:`parse_text` folds the sessions both list into one row each."""
    spans: list[tuple[int, int, bool]] = []
    i, n = 0, len(lines)
    while i < n:
        c = _header(lines[i])
        if c:
            c = _resolve(c, lines[i + 1:])
            quser = c["layout"] == "quser"
            j = i + 1
            while j < n and lines[j].strip() and (
                    _row_by_cols(lines[j], c) or (not quser and _row_by_shape(lines[j]))):
                j += 1
            # /counter trailer
            k = j
            while k < n and (not lines[k].strip() or _counter(lines[k])):
                k += 1
            if k > j and any(_counter(x) for x in lines[j:k]):
                while k > j and not lines[k - 1].strip():
                    k -= 1
                j = k
            if j > i + 1:
                prev = spans[-1] if spans else None
                if prev and prev[2] != quser and i - prev[1] <= 4 and all(
                        not x.strip() or _BETWEEN.match(x) for x in lines[prev[1]:i]):
                    spans[-1] = (prev[0], j, quser)
                else:
                    spans.append((i, j, quser))
            i = max(j, i + 1)
            continue
        i += 1
    return [(a, b) for a, b, _ in spans]


#: A time of day that may have had AM/PM after it (a 12-hour clock: no hour above 12).
_TWELVE_HOUR = re.compile(r"^(?:0?\d|1[0-2]):\d{2}(?::\d{2})?$")


def _logon_time_cut(value: str, rows: list[dict[str, Any]]) -> bool:
    """A quser LOGON TIME on the cut last line that ends in a blank: the cut may have come
    between its time and its AM/PM (``10/19/2023 1:09 `` of ``… 1:09 AM``). Cut when it has
    fewer words than the logon times of the other quser rows (one capture, one format), or,
    with none to compare, when its time could be on a 12-hour clock."""
    words = len(value.split())
    others = [len(d["logon_time"].split()) for d in (r["_data"] for r in rows)
              if d.get("command") == "quser" and d.get("logon_time")]
    if others:
        return words < max(set(others), key=others.count)
    return bool(_TWELVE_HOUR.match(value.split()[-1]))


def _cut_state(f: dict[str, Any], line: str) -> str | None:
    """The state word the cut last line ends in (nothing after it but one blank at most):
    when it is the beginning of a longer known state word of another state — Dutch
    "Verb" of Verbonden (Conn) or Verbroken (Disc), Russian "Отключен" (Down) of "Отключено"
    (Disc), Spanish "Inactiv" of Inactivo (Idle) or Inactiva (Down), Korean "연결 " (Conn)
    of "연결 끊김" (Disc), "Conn" of ConnQ — it is no state: emptied (kept in ``_cut``) and
    named. A fragment only one state's words begin with ("Acti") still reads as that state."""
    if any(f.get(k) for k in ("type", "device", "idle_time", "logon_time")) or not f["state"]:
        return None
    trail = len(line) - len(line.rstrip())
    if trail > 1 or not line.rstrip().endswith(f["state"]):
        return None             # (two blanks or more: the state ended before them)
    w = f["state"].casefold() + " " * trail
    grown = {v for k, v in STATES.items() if len(k) > len(w) and k.startswith(w)}
    if not grown:
        return None
    read = normalize_state(f["state"])
    if read is not None and grown <= {read}:
        return None
    f["_cut"], f["state"] = f["state"], None
    return f"{f['_cut']!r} (state: " + (f"{read} or " if read else "") + " or ".join(
        sorted(grown - {read})) + ")"


def _cut_fields(f: dict[str, Any], line: str, rows: list[dict[str, Any]]) -> str | None:
    """The row on the cut last line of a file: a TYPE, DEVICE, IDLE TIME or LOGON TIME the
    line ends in may be a fragment: emptied (kept in ``_cut``) and named; None when the line
    ends in blanks or in the state (a cut state word still reads by its prefix: "Acti"). A
    quser LOGON TIME that ends in a blank may have lost its AM/PM (:func:`_logon_time_cut`)."""
    if line[-1:].isspace():
        lt = f.get("logon_time")
        if lt and _logon_time_cut(lt, rows):
            f["_cut"], f["logon_time"] = lt, None
            return f"{lt!r} (logon time: its AM/PM may be cut off)"
        return None
    for key in ("logon_time", "idle_time", "device", "type"):
        if f.get(key):
            f["_cut"], f[key] = f[key], None
            return f"{f['_cut']!r} ({key.replace('_', ' ')})"
    return None


def parse_text(text: str, source: str, options: ParseOptions | None = None,
               line_offset: int = 0, *, file_end: bool | str = False) -> ParseResult:
    """``file_end``: the end of ``text`` is the end of the file (not of a block cut out of a
    longer text), so a last line without its line break was cut (:func:`parsers.text.cut_line`)."""
    lines = T.split_lines(text)
    cut = T.cut_line(text, lines, file_end)
    rows: list[dict[str, Any]] = []
    warnings: list = []
    counters: dict[str, int] = {}
    cols: dict[str, Any] | None = None
    header_line = None
    skipping = False            # inside `query process` output
    headerless_quser = False    # quser rows read without a header (said once)
    for i, (no, ln) in enumerate(T.iter_numbered(lines, line_offset)):
        if not ln.strip():
            skipping = False
            continue
        c = _header(ln)
        if c:
            cols, header_line, skipping = _resolve(c, lines[i + 1:]), no, False
            continue
        if _qprocess_header(ln):
            skipping = True
            warn(warnings, source, no, "`query process` output (processes, not sessions): "
                                       "not read up to the next blank line")
            continue
        if skipping or (cols is not None and _BETWEEN.match(ln)):
            continue            # (a prompt between two tables is no data)
        quser = cols is not None and cols["layout"] == "quser"
        f = _row_by_cols(ln, cols) if cols else None
        if not quser and (f is None or normalize_state(f["state"]) is None):
            # (never for quser: qwinsta's shape reads its user name as a session name)
            f2 = _row_by_shape(ln)
            f = f2 or (f if f and cols else None)
        if f is None and cols is None:
            f = _quser_by_shape(ln)
            if f is not None and not headerless_quser:
                headerless_quser = True
                warn(warnings, source, no,
                     "quser rows without their header line (filtered out: `quser | findstr /v "
                     "USERNAME`, `| select -skip 1`?): read by their shape from here on")
        if i == cut:
            lost = (_cut_state(f, ln) or _cut_fields(f, ln, rows)) if f else None
            if lost or not f:
                warn(warnings, source, no,
                     "the file ends inside this line (no line break after it, where qwinsta "
                     "ends every line with one): it was cut here; "
                     + (f"its last field {lost} may be a fragment and was not read" if f
                        else "not read"))
            if not f:
                continue
        if f:
            rows.append(_row_dict(f, no, cols is None))
            if normalize_state(f["state"]) is None and not f.get("_cut"):
                warn(warnings, source, no, f"unknown session state {f['state']!r}")
            continue
        m = _counter(ln)
        if m and rows:
            counters[m.group("label").strip()] = int(m.group("n"))
            continue
        if rows or cols:
            warn(warnings, source, no,
                 f"not a {'quser' if quser else 'qwinsta'} row, skipped: {ln.strip()[:80]!r}")
    merged = _merge_quser(rows)
    for r in rows:
        r["data"] = data_json(r.pop("_data"))
    if not rows and any(ln.strip() for ln in lines):
        warn(warnings, source, line_offset + 1, "no qwinsta session rows found")
    stats: dict[str, Any] = {"header_line": header_line}
    if counters:
        stats["counters"] = counters
    if merged:
        stats["quser_merged"] = merged
    return result_from_rows(rows, parser="qwinsta", warnings=warnings, stats=stats)


def _merge_quser(rows: list[dict[str, Any]]) -> int:
    """Fold quser rows into the qwinsta rows of the same session (``query user || qwinsta``
    prints both): one session must stay one row, or two commands would count it twice
    against a session limit. The quser row's idle and logon time go to the qwinsta row."""
    by_id: dict[int, dict[str, Any]] = {}
    for r in rows:
        if r["_data"].get("command") != "quser":
            by_id[r["session_id"]] = r          # (the last qwinsta capture of a session)
    if not by_id:
        return 0
    keep, merged = [], 0
    for r in rows:
        d = r["_data"]
        twin = by_id.get(r["session_id"]) if d.get("command") == "quser" else None
        if twin is None:
            keep.append(r)
            continue
        twin["_data"].update(idle_time=d["idle_time"], logon_time=d["logon_time"],
                             quser_locator=r["locator"])
        merged += 1
    rows[:] = keep
    return merged


def tables_apart(lines: list[str], spans: list[tuple[int, int]]) -> bool:
    """Whether the blocks ``spans`` (of :func:`block_spans`) of one text hold a quser table
    and a qwinsta table in different blocks — other lines between them — so whether they
    are one capture is for :mod:`parsers.textlog` to judge (:func:`fold_quser`), not for
    :func:`parse_text`, which folds every quser row into a qwinsta row of its session."""
    layouts = []
    for s, e in spans:
        found = set()
        for i in range(s, e):
            c = _header(lines[i])
            if c:
                found.add(_resolve(c, lines[i + 1:i + 21])["layout"])
        layouts.append(found)
    return any(x == {"quser"} for x in layouts) and any("qwinsta" in x for x in layouts)


def fold_quser(quser, sessions):
    """Fold the rows of a quser output into those of a qwinsta output that is *not* next to
    it in a multi-output file (``quser``, then ``ipconfig``, then ``qwinsta``): the
    frames ``parse_text`` returned for the two, as :func:`_merge_quser` folds a quser table
    beside its qwinsta table. Returns (the qwinsta frame with each quser row's
    ``idle_time``/``logon_time``/``quser_locator`` added to the row of its session, number
    folded), or None when the two lists contradict each other — so they were taken at
    different times and are kept apart:

    * a quser session (a user's) that qwinsta does not list, or lists with another user or
      another state (qwinsta lists every session);
    * a qwinsta session with a user that quser does not list (quser lists every session
      a user holds).

    User names are compared without case, and a name one output cut short (a column of
    20 characters) as the beginning of the other."""
    import orjson

    def load(frame):
        return [orjson.loads(d) if isinstance(d, str) else {} for d in frame["data"]]

    qd, sd = load(quser), load(sessions)
    if not len(quser) or not len(sessions) or any(d.get("command") != "quser" for d in qd) \
            or any(d.get("command") == "quser" for d in sd):
        return None

    def user(v) -> str:
        return v.casefold() if isinstance(v, str) else ""

    def same_user(a: str, b: str) -> bool:
        return a == b or (min(len(a), len(b)) >= 16 and (a.startswith(b) or b.startswith(a)))

    by_id: dict[int, int] = {}
    for k, sid in enumerate(sessions["session_id"]):
        if sid is not pd.NA and not pd.isna(sid):
            by_id[int(sid)] = k                 # (the last row of a session id)
    seen: set[int] = set()
    for sid, u, d in zip(quser["session_id"], quser["user"], qd):
        k = by_id.get(int(sid)) if not pd.isna(sid) else None
        if k is None:
            return None
        s_state, q_state = sd[k].get("state"), d.get("state")
        if not same_user(user(u), user(sessions["user"].iloc[k])) or (
                s_state and q_state and s_state != q_state):
            return None
        seen.add(k)
    for k, (sid, u, d) in enumerate(zip(sessions["session_id"], sessions["user"], sd)):
        if user(u) and not d.get("listener") and k not in seen:
            return None
    out = sessions.copy()
    data = list(out["data"])
    for sid, d, loc in zip(quser["session_id"], qd, quser["locator"]):
        k = by_id[int(sid)]
        sd[k].update(idle_time=d.get("idle_time"), logon_time=d.get("logon_time"),
                     quser_locator=loc)
        data[k] = data_json(sd[k])
    out["data"] = pd.Series(data, index=out.index, dtype=sessions["data"].dtype)
    return out, len(quser)


def sniff(head: bytes, name: str = "") -> bool:
    return T.sniff_head(head, sniff_text)


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    return T.parse_file(path, options, functools.partial(parse_text, file_end=True),
                        kind="qwinsta")
