"""What every event-log format shares: field names → timeline columns, one-line messages.

.evtx (both backends), .evt, wevtutil/Event Viewer XML and CSV exports all end here so that
the same event gives the same row whatever file it came from. Field names follow the
Windows manifests (KNOWLEDGE.md Part B §1): Security ``TargetUserName``/``IpAddress``, LSM
``User``/``SessionID``/``Address``, RCM 1149 ``Param1..3``, RdpCoreTS ``ClientIP``/
``IPString``. Unnamed ``<Data>`` (TermDD, .evt insertion strings) are ``param1..paramN``.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any

_NULLISH = {"", "-", "NULL", "null", "N/A", "%%1793"}

_USER_KEYS = (("TargetUserName", "TargetDomainName"), ("AccountName", "AccountDomain"),
              ("User", None), ("UserName", "Domain"), ("SubjectUserName", "SubjectDomainName"))
_IP_KEYS = ("IpAddress", "ClientIP", "ClientAddress", "Address", "IPString", "SourceAddress",
            "ClientIp", "IPAddress")
_SESSION_KEYS = ("SessionID", "SessionId", "Session", "TargetSession")
_ENDPOINT = re.compile(r"^\[?(?P<ip>[0-9a-fA-F:.%]+?)\]?(?::(?P<port>\d{1,5}))?$")


def _clean(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return None if s in _NULLISH else s


_ENDPOINTS: dict[str, tuple[str | None, int | None]] = {}


def split_endpoint(value: str) -> tuple[str | None, int | None]:
    """``[10.0.0.5]:51234`` / ``10.0.0.5:51234`` / ``10.0.0.5`` / ``[::1]:3389`` → (ip, port)."""
    if ":" not in value and value[:1].isdecimal() and not value.strip("0123456789."):
        return value, None                   # a plain IPv4 address (what the regex gives)
    r = _ENDPOINTS.get(value)
    if r is None:
        r = _split_endpoint(value)
        if len(_ENDPOINTS) < 65536:          # a log repeats a few addresses a million times
            _ENDPOINTS[value] = r
    return r


def _split_endpoint(value: str) -> tuple[str | None, int | None]:
    v = value.strip()
    if v.count(":") > 1 and not v.startswith("["):      # bare IPv6 without port
        return v, None
    m = _ENDPOINT.match(v)
    if not m:
        return None, None
    port = m.group("port")
    return m.group("ip"), (int(port) if port else None)


_CLIENT_KEYS: dict[str, str | None] = {}


def client_key(value: Any) -> str | None:
    """The form in which two logs' addresses of one client compare equal (None: no address).

    The timeline's ``ip`` keeps the address as logged; Security 4624/4625 ``IpAddress``
    often shows an IPv4 client IPv4-mapped (``::ffff:203.0.113.5``, RFC 4291 §2.5.5.2: a
    dual-stack socket's view of an IPv4 peer) where RdpCoreTS 131, RCM 1149 and TermDD 56
    show ``203.0.113.5``. So: an endpoint's port and brackets go (``[::ffff:a.b.c.d]:port``),
    an IPv6 zone id (``fe80::1%12``) goes, an IPv4-mapped address becomes its IPv4 address,
    any other IPv6 address its compressed lower-case form (``FE80:0::1`` → ``fe80::1``).
    Text that is no address is kept, stripped (still comparable with itself)."""
    if value is None:
        return None
    raw = str(value)
    r = _CLIENT_KEYS.get(raw)
    if r is None and raw not in _CLIENT_KEYS:
        r = _client_key(raw)
        if len(_CLIENT_KEYS) < 65536:        # (a log repeats a few addresses many times)
            _CLIENT_KEYS[raw] = r
    return r


def _client_key(raw: str) -> str | None:
    v = _clean(raw)
    if v is None:
        return None
    ip = split_endpoint(v)[0] or v
    ip = ip.split("%", 1)[0].strip("[] ")
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return ip or None
    if a.version == 6 and a.ipv4_mapped is not None:
        return str(a.ipv4_mapped)
    return str(a)


#: Every field name event_columns looks at (a record without any of them is skipped fast).
_ALL_KEYS = frozenset([k for pair in _USER_KEYS for k in pair if k] + list(_IP_KEYS)
                      + list(_SESSION_KEYS) + ["TargetUserSid", "UserSid", "IpPort"])


_RCM: dict[str | None, bool] = {}


def _is_termdd(provider: str | None) -> bool:
    return provider is not None and provider.lower() == "termdd"


def _is_rcm(provider: str | None) -> bool:
    r = _RCM.get(provider)
    if r is None:
        r = _RCM[provider] = (provider or "").lower().endswith("remoteconnectionmanager")
    return r


_SID_KEYS = ("TargetUserSid", "UserSid")

#: Per set of present field names (an event id's records share one): which candidates to
#: try, in priority order, so a record costs lookups of the keys it has, not of all 23.
_PLANS: dict[frozenset, tuple] = {}


def _plan(present: frozenset) -> tuple:
    plan = (tuple((u, d if d in present else None) for u, d in _USER_KEYS if u in present),
            tuple(k for k in _SID_KEYS if k in present),
            tuple(k for k in _IP_KEYS if k in present),
            "IpPort" in present,
            tuple(k for k in _SESSION_KEYS if k in present))
    if len(_PLANS) < 4096:
        _PLANS[present] = plan
    return plan


def event_columns(provider: str | None, event_id: int | None,
                  fields: dict[str, Any]) -> dict[str, Any]:
    """The typed timeline columns an event's named fields provide (user, ip, port, ...)."""
    out: dict[str, Any] = {}
    rcm = _is_rcm(provider)
    present = _ALL_KEYS.intersection(fields)
    if not present and not rcm:                       # hot path: most events carry none
        if event_id == 56 and _is_termdd(provider):   # unnamed data: param2 = client IP
            v = _clean(fields.get("param2"))
            ip = split_endpoint(v)[0] if v else None
            if ip:
                out["ip"] = ip
        return out
    plan = _PLANS.get(present) or _plan(present)
    users, sids, ips, ipport, sessions = plan
    for ukey, dkey in users:
        u = fields[ukey]
        if u is not None and (u := _clean(u)):
            d = fields[dkey] if dkey else None
            d = _clean(d) if d is not None else None
            out["user"] = f"{d}\\{u}" if d and "\\" not in u else u
            break
    if rcm and "user" not in out:
        u = _clean(fields.get("Param1"))
        if u:
            d = _clean(fields.get("Param2"))
            out["user"] = f"{d}\\{u}" if d else u
    for k in sids:                                    # the first non-empty one counts
        sid = fields[k]
        if sid is not None and (sid := _clean(sid)):
            if sid.startswith("S-1-"):
                out["sid"] = sid
            break
    for k in ips:
        v = fields[k]
        if v is None:
            continue
        v = _clean(v)
        if v and v.upper() != "LOCAL":
            ip, port = split_endpoint(v)
            if ip:
                out["ip"] = ip
                if port is not None:
                    out["port"] = port
                break
    if rcm and "ip" not in out:
        v = _clean(fields.get("Param3"))
        if v:
            ip, _ = split_endpoint(v)
            if ip:
                out["ip"] = ip
    if ipport and "port" not in out:
        p = fields["IpPort"]
        p = _clean(p) if p is not None else None
        # (int() of more than 4,300 digits raises: a crafted value must not cost the row)
        if p and p.isdecimal() and len(q := p.lstrip("0")) <= 5 and 0 < int(q or "0") < 65536:
            out["port"] = int(q)
    for k in sessions:
        v = fields[k]
        if v is None:
            continue
        v = _clean(v)
        if v is not None:
            try:
                out["session_id"] = int(v, 0) if v.lower().startswith("0x") else int(v)
                break
            except ValueError:
                continue
    return out


def _u32(b: bytes, off: int) -> int:
    return int.from_bytes(b[off:off + 4], "little")


def _is_error(code: int) -> bool:
    return code >> 30 == 3          # NTSTATUS severity "error" (0xC…)


def termdd_codes(binary: bytes | None) -> tuple[int | None, int | None]:
    """(the event's own status, the underlying error) of a TermDD event's ``Binary``.

    A driver's event carries its IO_ERROR_LOG_PACKET (wdm.h): ``DumpDataSize`` at 0x02,
    ``ErrorCode`` at 0x0C, ``FinalStatus`` at 0x14, ``DumpData`` from 0x28. TermDD's
    ErrorCode is the event's NTSTATUS (0xC00A0038 for event 56, 0xC00A0032 for 50); the last
    DWORD of DumpData is the underlying error, an NTSTATUS converted to an HRESULT
    (0xD0000184 for STATUS_INVALID_DEVICE_STATE; Ask the Performance Team, "The Curious
    Case of Event ID 56 with Source TermDD": ``…38000AC0…840100D0``), or None.

    Shorter data: a first row of the packet (16 bytes, ErrorCode last), or the layout this
    project's generator wrote before (whole DWORDs, the status last and nothing at 0x0C):
    the status only."""
    if not binary or len(binary) < 4:
        return None, None
    n = len(binary)
    if n >= 0x2C:
        status = _u32(binary, 0x0C) or _u32(binary, 0x14)
        if _is_error(status):
            size = int.from_bytes(binary[2:4], "little")
            if size == 0:               # no DumpData: what follows is not the driver's
                return status, None
            end = 0x28 + size if 4 <= size <= n - 0x28 else n
            cause = _u32(binary, end - 4)
            return status, (cause if cause not in (0, status) else None)
    if n >= 0x10 and _is_error(_u32(binary, 0x0C)):
        return _u32(binary, 0x0C), None
    last = _u32(binary, n - 4 - (n % 4))
    return (last if _is_error(last) else None), None


def ntstatus_from_binary(binary: bytes | None) -> str | None:
    """TermDD events: the event's NTSTATUS (ErrorCode of the IO_ERROR_LOG_PACKET, 0x0C; see
    :func:`termdd_codes` — the last DWORD is the underlying error, not this status)."""
    status, _ = termdd_codes(binary)
    return None if status is None else "0x%08X" % status


def event_message(provider: str | None, event_id: int | None, fields: dict[str, Any],
                  limit: int = 300) -> str:
    """A readable one-liner: ``TermDD 50: param1=\\Device\\Termdd, param2=X.224``."""
    head = f"{provider or '?'} {event_id if event_id is not None else '?'}"
    parts = []
    append = parts.append
    room = limit - len(head)
    for k, v in fields.items():
        if v is None or v == "" or k[:1] == "_":
            continue
        s = v if type(v) is str else str(v)
        # " ".join(s.split()) only changes strings with other whitespace than single spaces
        if not s.isprintable() or "  " in s or s[:1] == " " or s[-1:] == " ":
            s = " ".join(s.split())
        if len(s) > 80:
            s = s[:79] + "…"
        part = f"{k}={s}"
        append(part)
        room -= len(part) + 2
        if room < 0:              # the rest would be cut off anyway
            break
    msg = f"{head}: " + ", ".join(parts) if parts else head
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"


def data_message(provider: str | None, event_id: int | None, text: str | None,
                 limit: int = 300) -> str:
    """:func:`event_message` built from the fields' compact JSON text (``{"k":"v",...}``)
    with a few string replacements instead of a loop over the fields: the .evtx reader
    makes a million of these. ``k=v`` pairs, JSON escapes undone, whitespace runs folded,
    the line cut at ``limit``."""
    head = f"{provider or '?'} {event_id if event_id is not None else '?'}"
    if not text or len(text) < 3:
        return head
    room = limit - len(head) - 2
    body = text[1:room + 40]           # the replacements only shorten the text
    whole = len(body) == len(text) - 1
    if whole:
        body = body[:-1]               # the closing brace
    if body[:1] == '"':
        body = body[1:]
    if whole and body[-1:] == '"' and body[-2:-1] != "\\":
        body = body[:-1]
    body = body.replace('","', ", ").replace('":"', "=").replace('":', "=").replace(',"', ", ")
    if "\\" in body:                   # JSON escapes: control characters are escaped,
        body = body.replace("\\\\", "\0").replace("\\r", " ").replace("\\n", " ") \
            .replace("\\t", " ").replace('\\"', '"').replace("\0", "\\")
        if "  " in body:               # so whitespace runs come only from here
            body = " ".join(body.split())
    if len(body) > room or not whole:  # (a cut text shrunk by the replacements: still cut)
        body = body[: room - 1] + "…"
    return f"{head}: {body}"
