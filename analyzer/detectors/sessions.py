"""Session detectors: limits, administrative mode, rights, keep-alive and sleep.

``qwinsta`` is the snapshot of who holds sessions; the effective configuration says how many
are allowed; the Security, LocalSessionManager and System logs say who was refused and when
the server slept.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import knowledge
from .. import timeline as tl
from ..safetext import code
from . import (GPRESULT_2003, INPUTS, RDU_MEMBERS, USER_RIGHTS_EXPORT, Context,
               Passed, detector)
from .configuration import UNLIMITED, _gp_step, _int
from .listener import _cut, _latest_source

_RDP_SESSION = re.compile(r"^rdp-tcp#\d+$")
_HELD = {"active", "disc", "conn", "connq", "shadow", "idle"}


def qwinsta_snapshot(ctx: Context) -> pd.DataFrame:
    """Latest qwinsta capture with ``session_name`` / ``state`` decoded (lower case)."""
    q = _latest_source(ctx.etype("session:winstation"), ctx)
    if not len(q):
        return q.assign(session_name=[], state=[], headerless=[])
    q = _one_row_per_session(q)
    d = tl.fields(q, "session_name", "state", "headerless")
    return q.assign(session_name=d["session_name"].astype("string").fillna("").str.strip().str.lower(),
                    state=d["state"].astype("string").fillna("").str.strip().str.lower(),
                    headerless=[v is True for v in d["headerless"]])


def _line(locator) -> int:
    m = re.match(r"line (\d+)", str(locator))
    return int(m.group(1)) if m else -1


def _one_row_per_session(q: pd.DataFrame) -> pd.DataFrame:
    """The latest capture of a file that holds several. One capture lists a session id
    once; a file that repeats one holds two captures — qwinsta run twice, or a quser output
    that textlog kept apart from its qwinsta (a time stamp between them, lists that
    disagree) — and counting both lists sessions twice against a limit, or sessions that
    ended between the runs (found by review: false critical connection-limit-reached).
    Then qwinsta's rows are taken over quser's (qwinsta lists every session, the listener
    too), and of them the last capture: a new one starts at a row whose session id the
    current one has listed already, in line order. Rows without a session id are kept."""
    sid = q["session_id"]
    if sid.notna().sum() == sid.dropna().nunique():
        return q
    order = sorted(range(len(q)), key=lambda k: _line(q["locator"].iloc[k]))
    quser = ['"command":"quser"' in str(d) for d in q["data"]]
    if not all(quser):
        order = [k for k in order if not quser[k]]
    captures: list[list[int]] = [[]]
    seen: set[int] = set()
    for k in order:
        v = sid.iloc[k]
        if not pd.isna(v):
            if int(v) in seen:
                captures.append([])
                seen = set()
            seen.add(int(v))
        captures[-1].append(k)
    keep = set(captures[-1]) | {k for k in range(len(q)) if pd.isna(sid.iloc[k])
                                and not (quser[k] and not all(quser))}
    return q.iloc[sorted(keep)]


_CUT_NOTE = "the qwinsta capture has no header line (filtered with findstr?): sessions may be missing"


def remote_sessions(q: pd.DataFrame) -> pd.DataFrame:
    """RDP sessions held on the listener: ``rdp-tcp#N`` rows, and nameless Active/Disc rows
    with a user (disconnected sessions lose their name). A row whose state word the parser
    could not read (a language it does not know) is judged by its shape alone: an
    ``rdp-tcp#N`` name, or no name but a user and a session id below 65536, holds a slot."""
    if not len(q):
        return q
    unknown = q["state"] == ""
    rdp_name = q["session_name"].str.match(_RDP_SESSION)
    named = rdp_name & (q["state"].isin(_HELD) | unknown)
    user = q["user"].astype("string").fillna("").str.strip()
    sid = q["session_id"].astype("Float64")
    slot = (sid > 0) & (sid < 65536)
    nameless = (q["session_name"] == "") & (user != "") & (
        q["state"].isin({"active", "disc"}) | (unknown & slot.fillna(False)))
    return q[named | nameless]


def _session_list(rows: pd.DataFrame) -> str:
    out = []
    for _, r in rows.iterrows():
        sid = "" if pd.isna(r["session_id"]) else f"#{int(r['session_id'])}"
        user = r["user"] if isinstance(r["user"], str) and r["user"] else "-"
        out.append(f"{user} {sid} {r['state']}".strip())
    return ", ".join(out)


@detector(id="connection-limit-reached", severity="critical",
          title="The RDP connection limit is reached",
          inputs=("qwinsta", "reg", "gpresult", "system"), references=("KB2477023", "KB830581"))
def connection_limit_reached(ctx: Context):
    """All the connections the listener allows are in use, so new users are refused.

    The number of RDP sessions in ``qwinsta`` (``rdp-tcp#N`` rows, plus nameless
    Active/Disconnected rows with a user — disconnected sessions still hold their slot) is
    at or above the effective ``MaxInstanceCount``; or TermService logged 1013 (a client
    exceeded the maximum number of connections). References: KB2477023 part 1, KB830581.
    """
    ev_rows = ctx.etype("sys:termservice:connection-limit")
    limit_row = ctx.setting("MaxInstanceCount")
    q = qwinsta_snapshot(ctx)
    if not len(ev_rows) and (not len(q) or limit_row is None):
        missing = [n for n in ("qwinsta",) if not len(q)]
        if limit_row is None:
            missing += ["reg", "gpresult"]
        if not ctx.has("system"):
            missing.append("system")
        return ctx.not_evaluated(*missing)
    reasons, ev, details = [], [], {}
    limit = _int(limit_row["value"]) if limit_row is not None else None
    if len(q) and limit is not None and limit not in UNLIMITED:
        held = remote_sessions(q)
        details.update(limit=limit, sessions=len(held))
        if len(held) >= limit:
            reasons.append(f"{len(held)} RDP session(s) in use ({_session_list(held)}) with the "
                           f"limit at {limit} (MaxInstanceCount, by {ctx.source_phrase(limit_row)})")
            ev += ctx.evidence(held) + ctx.cfg_evidence(limit_row)
    # sessions do not outlive a system start: a limit hit before the last one is history
    if len(ev_rows) and not ctx.booted_after(ev_rows["time"].max()):
        reasons.append(f"TermService logged {len(ev_rows)} \"maximum number of connections "
                       "exceeded\" event(s) (1013)")
        ev += ctx.evidence(ev_rows.tail(ctx.param("evidence_rows")))
    if not reasons:
        if _cut(q) and limit is not None and limit not in UNLIMITED:
            return ctx.not_evaluated("qwinsta", note=_CUT_NOTE)
        return []
    steps = ["Log off disconnected sessions that hold slots: `qwinsta`, then `logoff <ID>` "
             "(or `rwinsta`).",
             "Set an idle/disconnected session time limit so slots free themselves "
             "(\"Set time limit for disconnected sessions\")."]
    if limit_row is not None:
        gp = _gp_step(limit_row, ctx, "Limit number of connections")
        steps.append(gp or "Raise or remove the limit (RDP-Tcp Maximum connections / "
                     "MaxInstanceCount = 0xFFFFFFFF).")
    return [ctx.finding("; ".join(reasons), ev, steps, details=details)]


@detector(id="admin-sessions-exhausted", severity="critical",
          title="Both administrative Remote Desktop sessions are in use",
          inputs=("qwinsta", "reg"), references=("KB2477023", "KB830581"))
def admin_sessions_exhausted(ctx: Context):
    """The server is in Remote Desktop for Administration mode and both remote sessions are taken.

    Without the Terminal Server / Remote Desktop Session Host role (``TSAppCompat`` = 0 on
    2003, no licensing configuration on 2008+) a server allows two concurrent remote
    sessions. ``qwinsta`` shows two remote sessions — active or disconnected. On 2003 a
    third administrator is refused ("the terminal server has exceeded the maximum number of
    allowed connections") unless they connect to the console session (``mstsc /admin``
    with RDC 6.1+, ``/console`` before). From 2008 on, the console session is not
    interactive and ``/admin`` gives no extra session; an administrator who connects is
    offered to disconnect one of the sessions, so the finding is an error there, not
    critical. References: KB2477023 part 1, KB830581.
    """
    q = qwinsta_snapshot(ctx)
    if not len(q):
        return ctx.not_evaluated("qwinsta")
    compat = ctx.setting("TSAppCompat")
    if compat is not None:
        admin_mode = _int(compat["value"]) == 0
        why = f"TSAppCompat = {compat['value']} (by {ctx.source_phrase(compat)})"
    else:
        if not ctx.ts_key_exported(itself=True):
            # the role shows in the Terminal Server key (its licensing settings); without an
            # export of it, a gpresult silent on licensing says nothing about the role
            return ctx.not_evaluated("reg")
        licensed = any(ctx.setting(n) is not None for n in ("LicensingMode", "LicenseServers"))
        admin_mode = not licensed
        why = "no Terminal Server / RD Session Host licensing configuration"
    if not admin_mode:
        return []
    held = remote_sessions(q)
    if len(held) < 2:
        return ctx.not_evaluated("qwinsta", note=_CUT_NOTE) if _cut(q) else []
    ev = ctx.evidence(held) + ctx.cfg_evidence(compat)
    disc = held[held["state"] == "disc"]
    gen = ctx.os()
    # (the host name is the customer's data: fenced so its backticks cannot end the span)
    steps = [f"Log off a session to free a slot: {code(f'qwinsta /server:{ctx.host}')} then "
             f"{code(f'logoff <ID> /server:{ctx.host}')}"
             + (f" ({len(disc)} of them are disconnected)" if len(disc) else "") + "."]
    # KB830581: "If you use the Remote Desktop Connection 6.1 client or a later version of
    # the client, use the mstsc.exe /admin command" — later clients ignore /console. From
    # 2008 on, session 0 is not interactive and "/console switch is ignored in remote
    # administration mode" (RDS team blog, "Console Behavior Differences in Longhorn Server
    # Terminal Services"); /admin gives "two active administrative sessions, including the
    # one on the physical console" (Ask Perf, "WS2008: RDC Enhancements and Administrative
    # Sessions"); the client offers to disconnect a session instead (found by review).
    console_2003 = ("Or connect to the console session, which is not one of the two: `mstsc "
                    "/admin` with Remote Desktop Connection 6.1 or later (it ignores /console), "
                    "`mstsc /console` with older clients (KB830581).")
    offer_2008 = ("An administrator who connects anyway is offered the list of sessions and "
                  "can disconnect one of them (from 2008 on; `mstsc /admin` gives no extra "
                  "session there — the console session is not interactive); other users are "
                  "refused.")
    if gen == "2003":
        steps.append(console_2003)
        role = "install Terminal Server (application server mode) with TS licensing"
        tail = ("a third administrator is refused (\"the terminal server has exceeded the "
                "maximum number of allowed connections\")")
    elif gen == "2008+":
        steps.append(offer_2008)
        role = "install the RD Session Host role with licensing"
        tail = ("a third user is refused, or — an administrator — offered to disconnect one "
                "of them")
    else:
        steps.append("Windows Server 2003: " + console_2003[0].lower() + console_2003[1:])
        steps.append("2008 and later: " + offer_2008[0].lower() + offer_2008[1:])
        role = "install the Terminal Server / RD Session Host role with licensing"
        tail = "a third user is refused (the Windows version, which decides the rest, is unknown)"
    steps.append("Set a time limit for disconnected sessions so abandoned sessions end; for "
                 f"more than two users {role}.")
    return [ctx.finding(f"Remote Desktop for Administration mode ({why}) and {len(held)} remote "
                        f"sessions already in use: {_session_list(held)} — {tail}", ev, steps,
                        details={"sessions": len(held)},
                        # (2008+: an administrator still gets in, so RDP works: an error)
                        severity="error" if gen == "2008+" else None)]


_NOT_GRANTED = "0xc000015b"
_RDU_SID = "S-1-5-32-555"
_GUESTS_SID = "S-1-5-32-546"
_GUEST_ACCOUNT = re.compile(r"S-1-5-21-\d+-\d+-\d+-501")     # the Guest account (RID 501)


def _builtin(member: dict, sid: str, names: frozenset[str]) -> bool:
    """A BUILTIN group: by its well-known SID wherever the member carries one (gpresult /x,
    ``*S-1-5-32-…`` entries), else by its name in the report's language — unqualified or
    under a well-known authority (``VORDEFINIERT\\Administratoren``;
    ``CONTOSO\\Administrateurs`` is a group of its own, as :func:`_well_known` has it)."""
    own = str(member.get("sid") or "").strip().upper()
    if own:
        return own == sid
    name = member.get("name")
    return knowledge.well_known_qualifier(name) and knowledge.account_name(name) in names


def _is_rdu(member: dict) -> bool:
    """Remote Desktop Users (:func:`_is_rdu_group`) — or a well-known group that holds all
    its members (Everyone, Authenticated Users, Users)."""
    return _is_rdu_group(member) or _well_known(member, knowledge.RDU_SUPERSETS)


def _well_known(member: dict, table: dict[str, frozenset[str]]) -> bool:
    sid = member.get("sid")
    if sid:
        return sid in table
    if not knowledge.well_known_qualifier(member.get("name")):
        return False                      # CONTOSO\Benutzer is an account, not Users
    name = knowledge.account_name(member.get("name"))
    return any(name in names for names in table.values())


def _harmless_deny(member: dict) -> bool:
    """Guests and the Guest account: denied Remote Desktop by default (so listed harmlessly)."""
    sid = member.get("sid")
    if sid:
        return sid == _GUESTS_SID or _GUEST_ACCOUNT.fullmatch(sid) is not None
    return knowledge.account_name(member.get("name")) in knowledge.GUESTS_NAMES


def _mentions_not_granted(data: pd.Series):
    return data.astype("string").str.contains(_NOT_GRANTED, case=False, regex=False) \
        .fillna(False).to_numpy(dtype=bool)


_DC_POLICY = "default domain controllers policy"


def _dc_group(member: dict) -> bool:
    """Domain Controllers (RID 516 of a domain) or ENTERPRISE DOMAIN CONTROLLERS (S-1-5-9),
    by SID or — gpresult /h and /z print names only — by name."""
    sid = str(member.get("sid") or "").upper()
    if sid:
        return sid in knowledge.DC_GROUP_SIDS or (
            sid.startswith("S-1-5-21-") and sid.rsplit("-", 1)[-1] == knowledge.DC_GROUP_RID)
    name = knowledge.account_name(member.get("name"))
    return name in knowledge.DC_GROUP_NAMES or (
        knowledge.well_known_qualifier(member.get("name"))
        and any(name in names for names in knowledge.DC_GROUP_SIDS.values()))


def _domain_controller(ctx: Context) -> tuple[str, pd.DataFrame] | None:
    """Why the Group Policy report's computer is a domain controller — it sits in the
    Domain Controllers OU, or belongs to the Domain Controllers group — and the row that
    shows it; None when the report shows neither (or has no computer details)."""
    rows = ctx.etype("gpo:subject")
    for _, r in rows.iterrows():
        d = tl.data_of(r)
        if d.get("scope") == "user":
            continue
        som = str(d.get("som") or "")
        parts = som.split("/")
        if len(parts) > 1 and parts[1].strip().casefold() == knowledge.DC_OU:
            return f"it is in the OU {som}", pd.DataFrame([r])
        group = next((m for m in d.get("groups") or [] if isinstance(m, dict) and _dc_group(m)),
                     None)
        if group is not None:
            return f"it is a member of {group.get('name') or group.get('sid')}", pd.DataFrame([r])
    return None


_ADMINS_SID = "S-1-5-32-544"
#: BUILTIN\Administrators by name, for members a report names without a SID (gpresult /h
#: and /z): the names Microsoft's localized documentation gives the group — German
#: "Administratoren" (learn.microsoft.com/de-de/windows/win32/secauthz/well-known-sids:
#: "Die Gruppe „Administratoren“"), Spanish "Administradores" (…/es-es/…/well-known-sids:
#: "El grupo Administradores del dominio integrado"), French "Administrateurs" (Windows
#: help fr-fr, Local Users and Groups: "Le compte Administrateur est un membre du groupe
#: Administrateurs"). Other languages (Italian among them) are left out until confirmed:
#: their reports match only by SID (a DC's admins-only default stays an error there).
#: Localized names of the domain's Domain Controllers group (RID 516) are not confirmed
#: either: :func:`_dc_group` reads its SID, or the Domain Controllers OU, whose name is
#: the same in every language.
ADMINISTRATORS_NAMES: frozenset[str] = frozenset(n.casefold() for n in (
    "Administrators", "Administratoren", "Administrateurs", "Administradores"))


def _is_admins(member: dict) -> bool:
    """BUILTIN\\Administrators, S-1-5-32-544 (:func:`_builtin`)."""
    return _builtin(member, _ADMINS_SID, ADMINISTRATORS_NAMES)


def _user_right_rows(ctx: Context, right: str) -> list[tuple[pd.Series, dict]]:
    rows = ctx.etype("gpo:user-right")
    out = []
    for _, r in rows.iterrows():
        d = tl.data_of(r)
        if str(d.get("right", "")).lower() == right.lower():
            out.append((r, d))
    win = [x for x in out if str(x[1].get("precedence", "1")) in ("1", "None")]
    return win or out


def _is_rdu_group(member: dict) -> bool:
    """Remote Desktop Users itself, S-1-5-32-555 (:func:`_builtin`). Not the supersets
    :func:`_is_rdu` counts: a Restricted Groups entry for Everyone restricts Everyone, not
    Remote Desktop Users."""
    return _builtin(member, _RDU_SID, knowledge.REMOTE_DESKTOP_USERS_NAMES)


def _precedence(d: dict) -> int:
    p = str(d.get("precedence", "1"))
    return int(p) if p.isdecimal() else 1            # (None: the report gives none, it wins)


def _restricted_groups(ctx: Context) -> tuple[list[tuple[pd.Series, dict]],
                                              list[tuple[pd.Series, dict]]]:
    """The winning Restricted Groups entries of the computer (gpresult /x,
    ``gpo:restricted-group``) that bear on Remote Desktop Users: (entries for the group
    itself, entries of other groups whose "This group is a member of" names it).

    Several GPOs may set one group: the entry of precedence 1 decides (the lowest shown
    when none has 1), as :func:`_user_right_rows` picks. Restricted Groups are a computer
    setting; a user-scope row is left out."""
    by_group: dict[str, list[tuple[pd.Series, dict]]] = {}
    for _, r in ctx.etype("gpo:restricted-group").iterrows():
        d = tl.data_of(r)
        g = d.get("group") if isinstance(d.get("group"), dict) else {}
        if d.get("scope") == "user" or not (g.get("sid") or g.get("name")):
            continue
        key = str(g.get("sid") or "").strip().upper() or knowledge.account_name(g.get("name"))
        by_group.setdefault(key, []).append((r, d))
    own, grants = [], []
    for entries in by_group.values():
        best = min(_precedence(d) for _, d in entries)
        for r, d in entries:
            if _precedence(d) != best:
                continue
            if _is_rdu_group(d["group"]):
                own.append((r, d))
            elif any(_is_rdu_group(m) for m in d.get("member_of") or [] if isinstance(m, dict)):
                grants.append((r, d))
    return own, grants


def _who(members) -> str:
    return ", ".join(str(m.get("name") or m.get("sid")) for m in members or []
                     if isinstance(m, dict))


def _computer_policy(ctx: Context) -> bool:
    """Whether a gpresult of this host shows its computer settings (where user rights are)."""
    rows = ctx.etype("gpo:gpo", "gpo:policy", "gpo:user-right", "gpo:security-option",
                     "gpo:registry", "gpo:restricted-group")
    return bool(len(rows)) and any(v != "user" for v in tl.fields(rows, "scope")["scope"])


@detector(id="user-not-authorized", severity="error",
          title="The user is not allowed to log on through Remote Desktop",
          inputs=("security", "gpresult"), references=("KB2477023", "KB278433"))
def user_not_authorized(ctx: Context):
    """The user's credentials are right but the account may not log on through RDP.

    Security 4825 (denied access to Remote Desktop), 4625 with status 0xC000015B (logon type
    not granted) or, on 2003, Security 534; or the effective user rights drop Remote
    Desktop Users from "Allow log on through Remote Desktop Services"
    (``SeRemoteInteractiveLogonRight``) or list accounts in "Deny log on through Remote
    Desktop Services". The user must be in Remote Desktop Users (or Administrators) and hold
    the logon right; granting a group that holds every member of Remote Desktop Users
    (Everyone, Authenticated Users, Users) grants it too. A deny of "Local account" alone
    (the security baseline) is reported as info: domain accounts are not affected. On a
    domain controller (the Default Domain Controllers Policy grants the right, or the report
    shows the computer in the Domain Controllers OU or group) Administrators only is the
    default: info. Without a refused logon, a deny naming other accounts or groups says who
    would be refused, not that the ticket's user was: a warning. Beside a refused logon,
    the winning Restricted Groups entry (gpresult /x) that sets the members of Remote
    Desktop Users is named with who it admits — it replaces the group's membership at
    every policy refresh, so the user is added there, not with ``net localgroup`` — and
    so are entries that put a group into it ("This group is a member of", a grant, never
    a finding on its own). References: KB2477023 part 1, KB278433, KB279301.
    """
    if not (ctx.has("security") or _computer_policy(ctx)):
        # (a report of user settings only holds no user rights: it cannot tell — one run
        # from an elevated prompt does; KB2477023 part 1 checks the group and the local
        # right first: found by review)
        if ctx.has("gpresult"):
            return ctx.not_evaluated(
                RDU_MEMBERS, USER_RIGHTS_EXPORT, "security",
                GPRESULT_2003 if ctx.os() == "2003" else INPUTS["gpresult"],
                note="the Group Policy report holds no computer settings (not run from an "
                     "elevated prompt?)")
        return ctx.not_evaluated(RDU_MEMBERS, USER_RIGHTS_EXPORT, "security", "gpresult")
    reasons, ev, users = [], [], set()
    denied = ctx.etype("sec:rdp:denied")
    if len(denied):
        users |= set(denied["user"].dropna().astype(str))
        reasons.append(f"{len(denied)} Security 4825 event(s): Remote Desktop access denied")
        ev += ctx.evidence(denied)
    # only the failures that mention the status are taken whole (a Security log has many)
    fail_pos = ctx.positions("sec:logon:failure")
    hit = ctx.column_map("data", fail_pos, _mentions_not_granted)
    if "message" in ctx.timeline.columns:
        # an Event Viewer CSV/TXT export in a language whose message labels the parser does
        # not know keeps the status only in the rendered message
        hit = hit | ctx.column_map("message", fail_pos, _mentions_not_granted)
    fails = ctx.take(fail_pos[hit])
    if len(fails):
        d = tl.fields(fails, "Status", "SubStatus")
        m = (d["Status"].astype(str).str.lower() == _NOT_GRANTED) | (
            d["SubStatus"].astype(str).str.lower() == _NOT_GRANTED)
        if "message" in fails.columns:
            unread = (d["Status"].isna() & d["SubStatus"].isna()).to_numpy(dtype=bool)
            m = m | (unread & _mentions_not_granted(fails["message"]))
        ng = fails[m.values]
        if len(ng):
            users |= set(ng["user"].dropna().astype(str))
            reasons.append(f"{len(ng)} failed logon(s) with 0xC000015B (logon type not granted)")
            ev += ctx.evidence(ng)
    old = ctx.etype("sec:logon:failure:logon-type-not-granted")
    if len(old):
        users |= set(old["user"].dropna().astype(str))
        reasons.append(f"{len(old)} Security 534 event(s) (logon type not granted)")
        ev += ctx.evidence(old)
    rdu_left_out = dc_default = False
    events_found = bool(reasons)
    n_events = len(reasons)
    # each reason's severity: a refused logon is an error; the rights alone say who *would*
    # be refused, which is an error only when it is every non-administrator of a server
    levels = ["error"] * len(reasons)
    allow_rows = _user_right_rows(ctx, "SeRemoteInteractiveLogonRight")
    dc = _domain_controller(ctx) if allow_rows else None
    for r, d in allow_rows:
        members = d.get("members") or []
        if not any(_is_rdu(m) for m in members if isinstance(m, dict)):
            rdu_left_out = True
            names = ", ".join(str(m.get("name") or m.get("sid")) for m in members
                              if isinstance(m, dict)) or "nobody"
            gpo = f' (GPO "{d.get("gpo")}")' if d.get("gpo") else ""
            # a domain controller grants administrators only by default (KNOWLEDGE §3.3):
            # by design, not a fault — unless logons are refused. A DC is told by the Default
            # Domain Controllers Policy granting it, or by the report's computer details (a
            # CIS-hardened DC's own GPO grants it: called an error on real data, review)
            by_policy = str(d.get("gpo") or "").strip().lower() == _DC_POLICY
            admins_only = bool(members) and all(_is_admins(m) for m in members
                                                if isinstance(m, dict))
            dc_default = admins_only and (by_policy or dc is not None)
            why_dc = "" if by_policy or dc is None else f" ({ctx.host} is one: {dc[0]})"
            reasons.append(f"\"Allow log on through Remote Desktop Services\" grants only: "
                           f"{names}{gpo} — Remote Desktop Users are left out"
                           + (f", the default of a domain controller{why_dc}: only "
                              "administrators may connect to it, by design" if dc_default else ""))
            levels.append("info" if dc_default and not events_found else "error")
            ev += ctx.evidence(pd.DataFrame([r]))
            if dc_default and dc is not None and not by_policy:
                ev += ctx.evidence(dc[1])
    for r, d in _user_right_rows(ctx, "SeDenyRemoteInteractiveLogonRight"):
        members = [m for m in (d.get("members") or []) if isinstance(m, dict)
                   and not _harmless_deny(m)]
        if members:
            gpo = f' (GPO "{d.get("gpo")}")' if d.get("gpo") else ""
            local = all(_well_known(m, knowledge.LOCAL_ACCOUNT_SIDS) for m in members)
            listed = ", ".join(str(m.get("name") or m.get("sid")) for m in members)
            # a denied group is a deliberate choice that refuses its members: the cause of
            # a ticket when the refused user is one of them (a warning, "likely
            # contributor"); an error beside a refused logon, or when the group holds every
            # user who may connect (Everyone, Users, Remote Desktop Users, Administrators:
            # a warning that "the user may be among them" was wrong; review)
            blanket = [str(m.get("name") or m.get("sid")) for m in members
                       if _is_rdu(m) or _is_admins(m)]
            reasons.append("\"Deny log on through Remote Desktop Services\" lists "
                           + listed + gpo
                           + (" — local accounts only (the security baseline): domain "
                              "accounts are not affected" if local else
                              "" if events_found else
                              f" — {', '.join(blanket)} holds every user allowed to connect: "
                              "nobody can log on through Remote Desktop" if blanket else
                              f" — {listed}, and every member of a group listed, cannot "
                              "connect through Remote Desktop; nothing in the bundle shows "
                              "whether the user who cannot connect is among them"))
            levels.append("info" if local else "error" if events_found or blanket
                          else "warning")
            ev += ctx.evidence(pd.DataFrame([r]))
    # Restricted Groups (KB279301, "Description of Group Policy Restricted Groups"): the
    # "Members" list replaces the group's membership at every policy refresh — "any
    # current member of a restricted group that isn't on the Members list is removed" —
    # while "Member Of" only adds ("only inclusion is enforced"). Read beside a refused
    # logon: who the winning GPO lets into Remote Desktop Users is then the lead, and a
    # user added by hand is taken out again. Without one, an entry listing members is the
    # administrator's choice, not a fault, and an entry listing none is not judged either:
    # gpresult /x shows no <Member> both for a Members list defined empty (which empties
    # the group: only administrators could connect) and for one left undefined (an entry
    # that sets only "member of"). The RSoP class it comes from, RSOP_RestrictedGroup,
    # holds only GroupName and a Members array (learn.microsoft.com, RSOP_RestrictedGroup
    # class), and the GPO report readers (EvotecIT/GPOZaurr ConvertTo-XMLRestrictedGroups)
    # read Member and MemberOf elements only: nothing tells the two apart.
    rg_own, rg_grants = _restricted_groups(ctx) if events_found else ([], [])
    restricted = []                                   # (GPO, members) forcing the group
    for r, d in rg_own:
        gpo = f'GPO "{d["gpo"]}"' if d.get("gpo") else "a GPO"
        listed = _who(d.get("members"))
        restricted.append((d.get("gpo"), [m for m in d.get("members") or []
                                          if isinstance(m, dict)]))
        reasons.append(f"Restricted Groups in {gpo} set the members of Remote Desktop Users "
                       f"to: {listed} — anyone else is taken out of the group at every policy "
                       "refresh" if listed else
                       f"Restricted Groups in {gpo} list no member for Remote Desktop Users — "
                       "if its \"Members of this group\" is defined empty, the group is "
                       "emptied at every policy refresh and only administrators can connect "
                       "(the report does not tell an empty list from one left undefined)")
        levels.append("error")
        ev += ctx.evidence(pd.DataFrame([r]))
    for r, d in rg_grants:
        # "This group is a member of" Remote Desktop Users: a grant, named as who may connect
        gpo = f'GPO "{d["gpo"]}"' if d.get("gpo") else "a GPO"
        reasons.append(f"Restricted Groups in {gpo} put {_who([d['group']])} into Remote "
                       "Desktop Users (\"This group is a member of\")")
        levels.append("info")
        ev += ctx.evidence(pd.DataFrame([r]))
    if not reasons:
        if not ctx.has("security") and not allow_rows and not _user_right_rows(
                ctx, "SeDenyRemoteInteractiveLogonRight"):
            # the gpresult sets neither right: local policy decides, which the bundle
            # does not show, and no Security log shows a refused logon
            return ctx.not_evaluated(RDU_MEMBERS, USER_RIGHTS_EXPORT, "security",
                                     note="the Group Policy report sets neither RDP logon "
                                     "right (local policy decides them)")
        return []
    who = f" for {', '.join(sorted(users))}" if users else ""
    if ctx.os() == "2003":
        steps = ["Add the user (or a group) to Remote Desktop Users: System Properties > Remote > "
                 "Select Remote Users, or `net localgroup \"Remote Desktop Users\" DOMAIN\\user /add`.",
                 "Check secpol.msc / the GPO: \"Allow log on through Terminal Services\" must "
                 "include Remote Desktop Users; \"Deny log on through Terminal Services\" must not "
                 "list the user.",
                 "In tscc.msc > RDP-Tcp > Permissions, Remote Desktop Users need User Access."]
    else:
        steps = ["Add the user to Remote Desktop Users: `net localgroup \"Remote Desktop Users\" "
                 "DOMAIN\\user /add` (or SystemPropertiesRemote.exe > Select Users).",
                 "In the GPO (gpresult shows which): \"Allow log on through Remote Desktop "
                 "Services\" must include Remote Desktop Users and \"Deny log on through Remote "
                 "Desktop Services\" must not list the user or their groups.",
                 "`gpupdate /force`, then retry."]
    if restricted:
        # the GPO sets the group's whole membership: `net localgroup` lasts until the next
        # refresh — "every 90 minutes on a workstation or server and every 5 minutes on a
        # domain controller" (the Restricted Groups explain text of Security Settings, as
        # windows-security.org quotes it) — so the
        # Restricted Groups entry is where the user is added
        gpos = " and ".join(f'"{g}"' for g, _ in restricted if g) or "that sets it"
        path = ("Computer Configuration > Windows Settings > Security Settings > Restricted "
                "Groups" if ctx.os() == "2003" else "Computer Configuration > Policies > "
                "Windows Settings > Security Settings > Restricted Groups")
        how = ("System Properties > Remote" if ctx.os() == "2003" else
               "SystemPropertiesRemote.exe")
        steps[0] = (f"Add the user (or a group of theirs) to the Restricted Groups entry for "
                    f"Remote Desktop Users in the GPO {gpos} ({path} > Remote Desktop Users > "
                    "Members of this group), then `gpupdate /force` on the server. The entry "
                    "sets the group's whole membership: a user added with `net localgroup "
                    f"\"Remote Desktop Users\" DOMAIN\\user /add` or {how} is taken out again "
                    "at the next policy refresh (about every 90 minutes; 5 on a domain "
                    "controller).")
    # nothing but the baseline's deny of local accounts or a domain controller's default:
    # worth knowing (a local account, a non-administrator cannot use RDP there), not an
    # error to "fix" by weakening the baseline
    severity = "error" if "error" in levels else "warning" if "warning" in levels else "info"
    if rdu_left_out and not dc_default:
        # Remote Desktop Users lack the right itself: adding the user to the group cannot
        # help before the policy is fixed — that step goes first
        steps = [steps[1]] + [steps[0]] + steps[2:]
    if severity != "error":
        first = []
        if dc_default:
            first.append("Connect with an administrator's account: a domain controller admits "
                         "only Administrators through Remote Desktop by default — do not open it "
                         "to other users to fix a ticket; give them a member server instead.")
        if "warning" in levels:
            first.append("If the user who cannot connect belongs to a group listed in \"Deny log "
                         "on through Remote Desktop Services\", that is the cause: take them out "
                         "of the group (the deny wins over every allow), or change the GPO named.")
        # (on a domain controller, adding users to Remote Desktop Users grants nothing)
        steps = first if dc_default else first + steps
    details: dict = {"users": sorted(users)}
    if restricted:
        details["restricted_groups"] = [
            {"gpo": g, "members": [str(m.get("name") or m.get("sid")) for m in ms]}
            for g, ms in restricted]
    summary = "; ".join(reasons) + who
    if rg_own or rg_grants:
        # "…for CORP\carol" ends the refused logons, not a GPO's Restricted Groups entry
        summary = "; ".join(reasons[:n_events]) + who + "; " + "; ".join(reasons[n_events:])
    return [ctx.finding(summary, ev, steps, details=details,
                        severity=None if severity == "error" else severity)]


def _minutes(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def power_scheme(ctx: Context) -> dict | None:
    """What the bundle's ``powercfg`` output says of the active power scheme: ``scheme``,
    ``format`` (``query-2003`` | ``query``), ``rows`` (setting → timeline row), ``values``
    (setting → row data), ``states`` (``/a``'s data or None) and ``states_row``. None when
    no powercfg setting of sleep or hibernation is in the bundle.

    The scheme: the one ``/list`` or ``/getactivescheme`` marks active; else the first one
    shown (``powercfg /query`` without an argument shows the active scheme)."""
    rows = ctx.etype("powercfg:setting")
    if not len(rows):
        return None
    import orjson

    recs = []
    for (_, r), d in zip(rows.iterrows(), rows["data"]):
        try:
            data = orjson.loads(d) if isinstance(d, str) else {}
        except orjson.JSONDecodeError:
            continue
        if isinstance(data, dict) and data.get("setting") in ("standby", "hibernate"):
            recs.append((r, data))
    if not recs:
        return None
    key = lambda d: (d.get("scheme_guid") or "", d.get("scheme") or "")  # noqa: E731
    active = [k for k in dict.fromkeys(key(d) for _, d in recs if d.get("active") is True)]
    shown = list(dict.fromkeys(key(d) for _, d in recs))
    states, states_row = None, None
    st = ctx.etype("powercfg:sleep-states")
    if len(st):
        try:
            states, states_row = orjson.loads(st["data"].iloc[-1]), st.iloc[-1]
        except (orjson.JSONDecodeError, TypeError):
            pass

    def scheme(chosen) -> dict:
        out: dict = {"rows": {}, "values": {}, "states": states, "states_row": states_row,
                     "others": []}
        for r, d in recs:
            if key(d) == chosen:
                out["rows"].setdefault(d["setting"], r)
                out["values"].setdefault(d["setting"], d)
        first = next(iter(out["values"].values()))
        out["scheme"] = first.get("scheme") or first.get("scheme_guid") or "?"
        out["format"] = first.get("format")
        return out

    if active:
        return scheme(active[0])
    # several schemes and none marked active: which one runs is not known (the order of
    # the blocks in the file says nothing; found by review) — the caller judges them all
    out = scheme(shown[0])
    out["others"] = [scheme(k) for k in shown[1:]]
    return out


def _power_verdict(ctx: Context, pw: dict) -> tuple[list[tuple[str, int]], list[str], bool]:
    """(settings that put the server to sleep on AC power as (what, seconds), notes on
    timeouts that cannot act, whether any AC value was read)."""
    states = pw["states"] or {}
    can = {"standby": states.get("standby"), "hibernate": states.get("hibernate")}
    sleeping, notes, known = [], [], False
    for setting, what in (("standby", "sleep"), ("hibernate", "hibernate")):
        d = pw["values"].get(setting)
        if d is None or d.get("ac") is None:
            continue
        known = True
        if d["ac"] > 0:
            if can[setting] is False:
                notes.append(f"{what} after {_minutes(d['ac'])} is set, but powercfg /a shows "
                             f"no {'standby state' if setting == 'standby' else 'hibernation'} "
                             "available")
            else:
                sleeping.append((what, d["ac"]))
    return sleeping, notes, known


def _power_steps(ctx: Context, pw: dict, sleeping: list[tuple[str, int]]) -> list[str]:
    """The fix for the scheme and Windows version: 2003's powercfg changes a named scheme
    (KB324347: ``/change "<scheme>" /standby-timeout-ac 0``); 2008 and later change the
    active plan (``/change standby-timeout-ac 0``)."""
    whats = {w for w, _ in sleeping}
    if pw["format"] == "query-2003" or ctx.os() == "2003":
        name = str(pw["scheme"]).replace('"', "")
        cmds = ([f'`powercfg /change "{name}" /standby-timeout-ac 0`'] if "sleep" in whats else []) \
            + ([f'`powercfg /change "{name}" /hibernate-timeout-ac 0`', "`powercfg /hibernate off`"]
               if "hibernate" in whats else [])
        return [f"Turn standby and hibernation off for the power scheme \"{name}\": "
                + ", ".join(cmds) + " (or Control Panel > Power Options > \"Always On\").",
                f"Check with `powercfg /query \"{name}\"`: System standby (AC) and System "
                "hibernates (AC) must say Never."]
    cmds = (["`powercfg /change standby-timeout-ac 0`"] if "sleep" in whats else []) \
        + (["`powercfg /change hibernate-timeout-ac 0`", "`powercfg /hibernate off`"]
           if "hibernate" in whats else [])
    return ["Turn sleep and hibernation off in the active power plan: " + ", ".join(cmds)
            + " (or use the High performance plan with sleep set to Never).",
            "Check with `powercfg /q SCHEME_CURRENT SUB_SLEEP`: the current AC index of "
            "Sleep after and Hibernate after must be 0x00000000."]


def _power_evidence(ctx: Context, pw: dict, settings=("standby", "hibernate")) -> list:
    rows = [pw["rows"][k] for k in settings if k in pw["rows"]]
    if pw["states_row"] is not None:
        rows.append(pw["states_row"])
    return ctx.evidence(pd.DataFrame(rows)) if rows else []


@detector(id="host-sleeps", severity="warning", title="The server goes to sleep",
          inputs=("system", "powercfg"), references=("KB2477023", "KB324347"))
def host_sleeps(ctx: Context):
    """The server enters sleep or hibernation, and nobody can connect while it sleeps.

    Kernel-Power 42 (entering sleep) and Power-Troubleshooter 1 (returned from a low-power
    state) give the intervals the server was asleep; RDP failures around those intervals are
    explained by sleep. Without such events — always on Windows Server 2003, which logs none —
    ``powercfg /query`` output says whether the active power scheme puts the server to sleep
    or into hibernation on AC power. A server must have sleep and hibernation turned off.
    References: KB2477023 part 1; KB324347 (Powercfg.exe on Windows Server 2003).
    """
    sleeps = ctx.etype("power:sleep")
    wakes = ctx.etype("power:wake")
    pw = power_scheme(ctx)
    if not len(sleeps) and not len(wakes):
        if pw is not None and pw["others"]:
            # none marked active: all shown schemes must agree, else ask which one runs
            verdicts = [_power_verdict(ctx, p) for p in [pw, *pw["others"]]]
            names = ", ".join(f"'{p['scheme']}'" for p in [pw, *pw["others"]])
            if any(v[0] for v in verdicts) and not all(v[0] for v in verdicts):
                legacy = pw["format"] == "query-2003" or ctx.os() == "2003"
                return ctx.not_evaluated(
                    "`powercfg /query` output (without a scheme name: the active scheme)"
                    if legacy else "`powercfg /getactivescheme` output", note=(
                        f"the powercfg output shows several power schemes ({names}) and does "
                        "not say which is active: some of them sleep, some do not"))
        if pw is not None:
            sleeping, notes, known = _power_verdict(ctx, pw)
            which = (f"the active power scheme '{pw['scheme']}'" if not pw["others"] else
                     "every power scheme shown ("
                     + ", ".join(f"'{p['scheme']}'" for p in [pw, *pw["others"]])
                     + f"; none marked active), '{pw['scheme']}'")
            if sleeping:
                parts = [f"to {'sleep' if w == 'sleep' else 'hibernate'} after {_minutes(v)}"
                         for w, v in sleeping]
                return [ctx.finding(
                    f"{which} puts the server "
                    + " and ".join(parts) + " of idle time on AC power (powercfg)",
                    _power_evidence(ctx, pw), _power_steps(ctx, pw, sleeping),
                    details={"scheme": pw["scheme"],
                             "ac_seconds": {w: v for w, v in sleeping}})]
            if known:
                extra = f"; {'; '.join(notes)}" if notes else ""
                shown = "', '".join(p["scheme"] for p in [pw, *pw["others"]])
                return Passed(f"the power scheme{'s' if pw['others'] else ''} '{shown}' "
                              f"neither sleep{'' if pw['others'] else 's'} nor "
                              f"hibernate{'' if pw['others'] else 's'} on AC power "
                              f"(powercfg){extra}")
        if ctx.os() == "2003" or (ctx.nt_version() or 6.0) < 6.0:
            # Kernel-Power and Power-Troubleshooter exist from 2008 on: a 2003 System log
            # shows no sleep, whatever the server does (found by review): its power scheme
            # (powercfg /query) tells
            return ctx.not_evaluated("powercfg", note="Windows Server 2003 logs no sleep or "
                                     "wake event: its power scheme tells whether it sleeps")
        return [] if ctx.has("system") else ctx.not_evaluated("system")
    intervals = []
    wake_times = sorted(t for t in wakes["time"].dropna())
    sleep_times = sorted(sleeps["time"].dropna())
    boots = sorted(ctx.boots())
    for i, t in enumerate(sleep_times):
        # asleep until the first of: a wake, a system start (a sleep that ended in a power
        # loss or reset), or the next sleep (its wake was not logged)
        ends = [w for w in wake_times if w >= t][:1] + [b for b in boots if b > t][:1] \
            + sleep_times[i + 1:i + 2]
        intervals.append((t, min(ends) if ends else None))
    if len(wakes):
        d = tl.fields(wakes, "SleepTime", "WakeTime")
        for (_, w), st in zip(wakes.iterrows(), d["SleepTime"]):
            s = pd.to_datetime(st, utc=True, errors="coerce") if st else pd.NaT
            if not any(b is not None and b == w["time"] for _, b in intervals):
                intervals.append((None if pd.isna(s) else s, w["time"]))
    margin = pd.Timedelta(minutes=5)
    fail_times = ctx.column("time", ctx.positions(
        prefixes=("sec:logon:failure", "rdp:core:auth-failed", "sys:termdd:")))
    n_inside = 0
    for a, b in intervals:
        if a is None or b is None or not len(fail_times):
            continue
        n_inside += int(((fail_times >= a - margin) & (fail_times <= b + margin)).sum())
    fmt = lambda t: "?" if t is None or pd.isna(t) else \
        pd.Timestamp(t).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")
    shown = "; ".join(f"{fmt(a)} → {fmt(b)}" for a, b in intervals[:5])
    more = f" (+{len(intervals) - 5} more)" if len(intervals) > 5 else ""
    fail_txt = f"; {n_inside} RDP failure event(s) around these intervals" if n_inside else ""
    ev = ctx.evidence(pd.concat([sleeps, wakes]).sort_values("time"))
    if pw is not None and _power_verdict(ctx, pw)[0]:
        ev += _power_evidence(ctx, pw)          # the scheme that lets it sleep
    steps = (["Turn sleep and hibernation off: Control Panel > Power Options > \"Always On\", "
              "`powercfg /hibernate off`."] if ctx.os() == "2003" else
             ["Use the High performance power plan and turn sleep off: `powercfg /change "
              "standby-timeout-ac 0`, `powercfg /hibernate off`."])
    steps.append("If a wake timer or device wakes it, check `powercfg /lastwake`; make sure the "
                 "BIOS/UEFI power settings keep the server on.")
    return [ctx.finding(f"the server slept {len(intervals)} time(s): {shown}{more}{fail_txt}",
                        ev, steps, total=len(sleeps) + len(wakes),
                        details={"intervals": len(intervals), "failures_inside": n_inside})]


_LSM_START = ("rdp:lsm:logon", "rdp:lsm:reconnect")
_LSM_END = ("rdp:lsm:logoff", "rdp:lsm:disconnect", "rdp:lsm:disconnect-reason",
            "rdp:lsm:disconnect-by-session")


def _overlapping_logons(lsm: pd.DataFrame, boots=()) -> tuple[list[tuple[int, int]], set[str]]:
    """LocalSessionManager rows in time order: each logon/reconnect of a user while another
    of their sessions is still active (no logoff/disconnect since). Returns the pairs as
    row positions in ``lsm`` (earlier session's row, new row) and the new rows' users.
    Console logons (``Address`` LOCAL: keep-alive has nothing to do with them) are left
    out, and a system start (``boots``, sorted) ends every session.

    Column lists and a per-user index of active sessions, not ``iterrows`` and a scan of
    every active session per logon: a million-event LSM log took 80 s that way."""
    # stable: events of one second keep the timeline's order (a disconnect before a logon)
    order = lsm["time"].reset_index(drop=True).sort_values(kind="stable").index.to_numpy()
    types = lsm["event_type"].astype(object).to_numpy()[order].tolist()
    sids = lsm["session_id"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)[order]
    names = lsm["user"].astype(object).to_numpy()[order].tolist()
    local = lsm["data"].astype("string").str.contains('"Address":"LOCAL"', regex=False) \
        .fillna(False).to_numpy(dtype=bool)[order]
    naive = lsm["time"].dt.tz_convert("UTC").dt.tz_localize(None)
    times = naive.to_numpy(dtype="datetime64[us]")[order]
    starts = [np.datetime64(pd.Timestamp(b).tz_convert("UTC").tz_localize(None), "us")
              for b in boots]
    nb = 0
    active: dict[int, tuple[str, int]] = {}       # session → (user lower case, row position)
    seq: dict[int, int] = {}                      # session → its place in ``active``'s order
    by_user: dict[str, set[int]] = {}
    hits: list[tuple[int, int]] = []
    users: set[str] = set()
    counter = 0
    for i, et in enumerate(types):
        if nb < len(starts) and times[i] > starts[nb]:      # (NaT compares False)
            while nb < len(starts) and times[i] > starts[nb]:
                nb += 1
            active.clear()
            seq.clear()
            by_user.clear()
        sid = sids[i]
        if sid != sid:                            # NaN: no session id
            continue
        sid = int(sid)
        et = str(et)
        if et in _LSM_START:
            u = names[i] if isinstance(names[i], str) else None
            if not u or local[i]:
                continue
            ul = u.lower()
            others = by_user.get(ul)
            if others:
                for other in sorted((o for o in others if o != sid), key=seq.__getitem__):
                    hits.append((active[other][1], int(order[i])))
                    users.add(str(u))
            old = active.get(sid)
            if old is None:
                seq[sid] = counter
                counter += 1
            elif old[0] != ul:
                by_user[old[0]].discard(sid)
            active[sid] = (ul, int(order[i]))
            by_user.setdefault(ul, set()).add(sid)
        elif et in _LSM_END:
            old = active.pop(sid, None)
            if old is not None:
                by_user[old[0]].discard(sid)
                seq.pop(sid, None)
    return hits, users


@detector(id="sessions-not-disconnecting", severity="warning",
          title="Sessions stay active after the client is gone",
          inputs=("qwinsta", "lsm-log", "reg", "gpresult"), references=("KB2477023",))
def sessions_not_disconnecting(ctx: Context):
    """Sessions stay Active after the client dropped, because keep-alive is off.

    One user holds several Active ``rdp-tcp`` sessions in ``qwinsta``, or the
    LocalSessionManager log shows a user logging on to a new session while their previous
    session never disconnected or logged off. Without keep-alive ("Configure keep-alive
    connection interval", ``KeepAliveEnable`` = 1) the server does not notice a vanished
    client, the old session stays Active and holds a slot. Console logons (Address LOCAL)
    do not count, and a system start ends every session. References: KB2477023 part 3.
    """
    q = qwinsta_snapshot(ctx)
    lsm = ctx.rows("rdp:lsm:")
    if not len(q) and not len(lsm):
        return ctx.not_evaluated("qwinsta", "lsm-log")
    ka = ctx.setting("KeepAliveEnable")
    if ka is not None and _int(ka["value"]) == 1:
        return []
    reasons, ev, users = [], [], set()
    if len(q):
        act = remote_sessions(q)
        act = act[act["state"] == "active"]
        user = act["user"].astype("string").str.lower()
        dup = act[user.duplicated(keep=False).fillna(False) & user.notna()]
        if len(dup):
            users |= set(dup["user"].astype(str))
            reasons.append(f"qwinsta shows several Active sessions for one user: {_session_list(dup)}")
            ev += ctx.evidence(dup)
    if len(lsm):
        hits, hit_users = _overlapping_logons(lsm, list(ctx.boots()))
        if hits:
            users |= hit_users
            reasons.append(f"{len(hits)} logon(s) to a new session while the same user's "
                           "previous session never disconnected")
            for a, b in hits[:4]:
                ev += ctx.evidence(lsm.iloc[[a, b]])
    if not reasons:
        if _cut(q) and not len(lsm):
            return ctx.not_evaluated("qwinsta", "lsm-log", note=_CUT_NOTE)
        return []
    no_policy = not (ctx.has("gpresult") or any(
        (ctx.setting(n) or {}).get("origin") == "policy" for n in ("fDenyTSConnections",
                                                                   "MaxInstanceCount",
                                                                   "SecurityLayer")))
    ka_txt = (("keep-alive is not enabled locally, and the bundle holds no Group Policy report "
               "to show whether a policy enables it") if ka is None and no_policy else
              "keep-alive is not configured" if ka is None else
              f"KeepAliveEnable = {ka['value']} (by {ctx.source_phrase(ka)})")
    ev += ctx.cfg_evidence(ka)
    pol = "Keep-Alive Connections" if ctx.os() == "2003" else "Configure keep-alive connection interval"
    return [ctx.finding("; ".join(reasons) + f"; {ka_txt}", ev,
                        [f"Enable the policy \"{pol}\" (interval 1–5 minutes) — "
                         "KeepAliveEnable=1, KeepAliveInterval under HKLM\\SOFTWARE\\Policies\\"
                         "Microsoft\\Windows NT\\Terminal Services — then `gpupdate /force`.",
                         "Set \"Restrict users to a single session\" so users reconnect to their "
                         "session, and a time limit for disconnected sessions.",
                         "Log off the stale sessions now (`qwinsta`, `logoff <ID>`)."],
                        details={"users": sorted(users)})]
