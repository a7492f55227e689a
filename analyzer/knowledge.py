"""Knowledge tables: event (provider, id) → event_type, and the relevance filter.

Data, not code: detectors and the timeline look things up here instead of carrying their
own ``if`` chains. Sources and confidence for every entry are in ../shared/KNOWLEDGE.md
Part B (the ``E``/``R``/``L``/``C``/``A`` numbers in the comments).
"""
from __future__ import annotations

import functools
import re

from parsers.base import Relevance

# Provider aliases: the name a log shows → our short family name.
PROVIDER_FAMILY: dict[str, str] = {
    "termdd": "termdd",
    "termservice": "termservice",
    "termservlicensing": "termservlicensing",
    "microsoft-windows-terminalservices-remoteconnectionmanager": "rcm",
    "microsoft-windows-terminalservices-localsessionmanager": "lsm",
    "microsoft-windows-remotedesktopservices-rdpcorets": "rdpcorets",
    "microsoft-windows-terminalservices-licensing": "tslicensing",
    "microsoft-windows-security-auditing": "security",
    "security": "security",                       # 2003 .evt source name
    "microsoft-windows-kernel-power": "kernel-power",
    "microsoft-windows-power-troubleshooter": "power-troubleshooter",
    "microsoft-windows-kernel-general": "kernel-general",
    "service control manager": "scm",
    "eventlog": "eventlog",
    "schannel": "schannel",
    "lsm": "lsm-legacy",
    "microsoft-windows-terminalservices-gateway": "rdgateway",
}

# (family, event id) → event_type. General → specific.
EVENT_TYPES: dict[tuple[str, int], str] = {
    # TermDD (E01-E03)
    ("termdd", 50): "sys:termdd:protocol-error",
    ("termdd", 56): "sys:termdd:security-error",
    ("termdd", 52): "sys:termdd:license-in-use",
    # TermService 2003 (E04-E10)
    ("termservice", 1008): "sys:termservice:grace-expired",
    ("termservice", 1088): "sys:termservice:grace-expired",
    ("termservice", 1004): "sys:termservice:license-issue-failed",
    ("termservice", 1010): "sys:termservice:license-server-unreachable",
    ("termservice", 1009): "sys:termservice:grace-expiring",
    ("termservice", 1011): "sys:termservice:temp-license-expired",
    ("termservice", 1000): "sys:termservice:license-acquire-failed",
    ("termservice", 1003): "sys:termservice:invalid-client-license",
    ("termservice", 1005): "sys:termservice:stack-load-failed",
    ("termservice", 1035): "sys:termservice:listener-down",
    ("termservice", 1036): "sys:termservice:session-create-failed",
    ("termservice", 1006): "sys:termservice:incomplete-connections",
    ("termservice", 1012): "sys:termservice:max-failed-logons",
    ("termservice", 1013): "sys:termservice:connection-limit",
    ("termservice", 1015): "sys:termservice:connection-disabled",
    ("termservlicensing", 28): "sys:tslicensing:placement-error",
    ("tslicensing", 44): "sys:tslicensing:db-error-benign",
    ("lsm-legacy", 1048): "sys:lsm:start-failed",
    # RCM (R01-R18)
    ("rcm", 1149): "rdp:rcm:auth-success",
    ("rcm", 261): "rdp:rcm:connection-received",
    ("rcm", 258): "rdp:rcm:listener-started",
    ("rcm", 259): "rdp:rcm:listener-stopped",
    ("rcm", 262): "rdp:rcm:listener-stop-requested",
    ("rcm", 260): "rdp:rcm:listener-failed",
    ("rcm", 1158): "rdp:rcm:connection-accepted",
    ("rcm", 1035): "rdp:rcm:listener-down",
    ("rcm", 1036): "rdp:rcm:session-create-failed",
    ("rcm", 1050): "rdp:rcm:security-autocorrected",
    ("rcm", 1051): "rdp:rcm:cert:unusable",
    ("rcm", 1052): "rdp:rcm:cert:expiring",
    ("rcm", 1053): "rdp:rcm:cert:expired",
    ("rcm", 1054): "rdp:rcm:cert:no-eku",
    ("rcm", 1055): "rdp:rcm:cert:private-key",
    ("rcm", 1056): "rdp:rcm:cert:self-signed-created",
    ("rcm", 1057): "rdp:rcm:cert:self-signed-failed",
    ("rcm", 1058): "rdp:rcm:cert:replace-failed",
    ("rcm", 1059): "rdp:rcm:cert:config-reset",
    ("rcm", 1067): "rdp:rcm:spn-failed",
    ("rcm", 1068): "rdp:rcm:licensing:mode-not-configured",
    ("rcm", 1069): "rdp:rcm:licensing:grace-expired",
    ("rcm", 1128): "rdp:rcm:licensing:grace-expired",
    ("rcm", 1129): "rdp:rcm:licensing:grace-expiring",
    ("rcm", 1130): "rdp:rcm:licensing:no-server",
    ("rcm", 1131): "rdp:rcm:licensing:server-unreachable",
    ("rcm", 1132): "rdp:rcm:licensing:server-unsupported",
    ("rcm", 1133): "rdp:rcm:licensing:cert-invalid",
    ("rcm", 1004): "rdp:rcm:licensing:issue-failed",
    ("rcm", 1028): "rdp:rcm:licensing:renew-failed",
    ("rcm", 1043): "rdp:rcm:licensing:server-comm-failed",
    ("rcm", 1061): "rdp:rcm:licensing:issue-failed",
    # 2008's termsrv.dll still has 1015 ("connection disabled, adapter settings reset",
    # TermService's in System); a 2008 .evtx may name it by the RCM provider (E12)
    ("rcm", 1015): "rdp:rcm:connection-disabled",
    ("rcm", 1070): "rdp:rcm:logons-disabled",
    ("rcm", 1071): "rdp:rcm:logons-disabled",
    # LSM (L01-L09)
    ("lsm", 21): "rdp:lsm:logon",
    ("lsm", 22): "rdp:lsm:shell-start",
    ("lsm", 23): "rdp:lsm:logoff",
    ("lsm", 24): "rdp:lsm:disconnect",
    ("lsm", 25): "rdp:lsm:reconnect",
    ("lsm", 39): "rdp:lsm:disconnect-by-session",
    ("lsm", 40): "rdp:lsm:disconnect-reason",
    ("lsm", 41): "rdp:lsm:arbitration-begin",
    ("lsm", 42): "rdp:lsm:arbitration-end",
    # RdpCoreTS (C01-C12)
    ("rdpcorets", 131): "rdp:core:connection-accepted",
    ("rdpcorets", 140): "rdp:core:auth-failed",
    ("rdpcorets", 65): "rdp:core:connection-created",
    ("rdpcorets", 66): "rdp:core:connection-assigned",
    ("rdpcorets", 97): "rdp:core:protocol-error",
    ("rdpcorets", 98): "rdp:core:tcp-established",
    ("rdpcorets", 99): "rdp:core:tcp-failed",
    ("rdpcorets", 102): "rdp:core:connection-terminated",
    ("rdpcorets", 103): "rdp:core:disconnect-reason",
    ("rdpcorets", 104): "rdp:core:client-timezone",
    ("rdpcorets", 105): "rdp:core:native-encryption",
    ("rdpcorets", 129): "rdp:core:listener-bound",
    ("rdpcorets", 139): "rdp:core:security-error",
    ("rdpcorets", 148): "rdp:core:channel",
    ("rdpcorets", 153): "rdp:core:tls-version",
    ("rdpcorets", 226): "rdp:core:state-error",
    ("rdpcorets", 227): "rdp:core:state-error",
    ("rdpcorets", 228): "rdp:core:state-error",
    ("rdpcorets", 72): "rdp:core:method",
    # Security (A01-A09)
    ("security", 4624): "sec:logon:success",
    ("security", 4625): "sec:logon:failure",
    ("security", 4778): "sec:session:reconnect",
    ("security", 4779): "sec:session:disconnect",
    ("security", 4825): "sec:rdp:denied",
    ("security", 4634): "sec:logoff",
    ("security", 4647): "sec:logoff:user",
    ("security", 4648): "sec:logon:explicit",
    ("security", 4672): "sec:logon:special-privileges",
    ("security", 528): "sec:logon:success",
    ("security", 540): "sec:logon:success",
    **{("security", i): "sec:logon:failure" for i in (529, 530, 531, 532, 533, 535, 536, 537, 539)},
    ("security", 534): "sec:logon:failure:logon-type-not-granted",
    ("security", 538): "sec:logoff",
    ("security", 682): "sec:session:reconnect",
    ("security", 683): "sec:session:disconnect",
    # Power (E13-E16)
    ("kernel-power", 42): "power:sleep",
    ("kernel-power", 107): "power:resume",
    ("kernel-power", 41): "power:unclean-reboot",
    ("kernel-power", 109): "power:shutdown",
    ("kernel-power", 506): "power:standby-enter",
    ("kernel-power", 507): "power:standby-exit",
    ("power-troubleshooter", 1): "power:wake",
    ("kernel-general", 12): "sys:kernel:os-start",      # "The operating system started at"
    ("eventlog", 6005): "sys:eventlog:start",
    ("eventlog", 6006): "sys:eventlog:stop",
    ("eventlog", 6008): "sys:eventlog:unexpected-shutdown",
    ("eventlog", 6009): "sys:eventlog:os-version",
    ("eventlog", 6013): "sys:eventlog:uptime",
    ("eventlog", 6011): "sys:eventlog:renamed",     # NetBIOS/DNS name changed from %1 to %2
    # Service Control Manager (E17-E18)
    ("scm", 7036): "svc:state",
    ("scm", 7031): "svc:crash",
    ("scm", 7034): "svc:crash",
    ("scm", 7000): "svc:start-failed",
    ("scm", 7001): "svc:start-failed",
    ("scm", 7023): "svc:error",
    ("scm", 7024): "svc:error",
    ("scm", 7040): "svc:start-type",
    ("scm", 7045): "svc:installed",
    # Schannel (E19-E22)
    ("schannel", 36870): "tls:schannel:private-key",
    ("schannel", 36869): "tls:schannel:no-private-key",
    ("schannel", 36871): "tls:schannel:credential-error",
    ("schannel", 36874): "tls:schannel:no-cipher",
    ("schannel", 36887): "tls:schannel:alert-received",
    ("schannel", 36888): "tls:schannel:alert-sent",
    ("schannel", 36886): "tls:schannel:no-server-credential",
    ("schannel", 36872): "tls:schannel:chain",
    ("schannel", 36889): "tls:schannel:chain",
}

#: Known events no detector or report reads: named in the timeline when present, but dropped
#: by the relevance filter (a busy Security log is mostly 4624/4634/4672 pairs; keeping the
#: logoffs and privilege notices would double ``analyze``'s memory for nothing).
NOT_RELEVANT: frozenset[tuple[str, int]] = frozenset({
    ("security", 4634), ("security", 4647), ("security", 4648), ("security", 4672),
    ("security", 538),
})

#: Remote Desktop's own services by key name (lower case): the session host's three
#: (E17: TermService, UmRdpService, SessionEnv) and the RDS roles' (licensing, connection
#: broker, gateway, management, publishing).
RDP_SERVICES: frozenset[str] = frozenset({
    "termservice", "umrdpservice", "sessionenv", "termservlicensing", "tssdis", "tsgateway",
    "rdms", "tscpubrpc"})


def utf16_hex_pattern(names) -> str:
    """A regex source matching the UTF-16LE hex of any of ``names``, letters in either case
    (how an event's ``Binary`` carries a service key name; compile with ``re.IGNORECASE``
    for the hex digits' case)."""
    def one(name: str) -> str:
        return "".join(f"(?:{ord(c.upper()):02x}00|{ord(c.lower()):02x}00)"
                       if c.upper() != c.lower() else f"{ord(c):02x}00" for c in name)
    return "(?:" + "|".join(one(n) for n in sorted(names)) + ")"


#: SCM 7036's ``Binary`` is the service *key* name and its new state in UTF-16LE,
#: ``TermService/4`` (4 running, 1 stopped): the same on every display language, unlike
#: ``param1`` (the localized display name). Real exports: ``SystemEventsBroker/4``,
#: ``ScDeviceEnum/4``, ``winlogbeat/4``.
#: What the relevance rule keeps: a Binary naming one of :data:`RDP_SERVICES`, or any Binary
#: that is not of that ``Name/N`` shape at all (never drop what cannot be read).
SCM_STATE_RDP = re.compile(utf16_hex_pattern(RDP_SERVICES) + "2f00"
                           r"|(?!(?:[0-9a-f]{2}00)+?2f00(?:3[0-9]00)+(?:0000)*$)", re.IGNORECASE)


_KEY_NAME = re.compile(r"[A-Za-z0-9_.$-]{1,256}")


@functools.lru_cache(maxsize=4096)         # a busy System log repeats a few values 100 k times
def scm_binary(binary: str | None) -> tuple[str | None, int | None]:
    """An SCM event's ``Binary`` (hex) → (service key name, state code): 7036 carries
    ``Name/N``; a bare key name (as 7031/7034 are reported to carry) gives no state. (None,
    None) when it is neither."""
    if not binary:
        return None, None
    try:
        text = bytes.fromhex(str(binary).strip()).decode("utf-16-le").rstrip("\0")
    except ValueError:                       # (UnicodeDecodeError included)
        return None, None
    name, sep, state = text.rpartition("/")
    if not sep:
        name, state = text, ""
    if not _KEY_NAME.fullmatch(name) or (sep and not (state.isdigit() and len(state) < 3)):
        return None, None
    return name, int(state) if state else None


#: Localized names of the well-known accounts the user-right checks look for, where a
#: report names members without their SIDs (gpresult /h and /z): the group (or account)
#: name after any ``DOMAIN\`` prefix, case-folded. CJK builds keep the English names. The
#: non-English names are Windows' terms as best known, not yet seen in a customer's report.
REMOTE_DESKTOP_USERS_NAMES: frozenset[str] = frozenset(n.casefold() for n in (
    "Remote Desktop Users", "Remotedesktopbenutzer", "Utilisateurs du Bureau à distance",
    "Usuarios de escritorio remoto", "Utenti desktop remoto",
    "Usuários da área de trabalho remota", "Utilizadores do Ambiente de Trabalho Remoto",
    "Gebruikers van Extern bureaublad", "Пользователи удаленного рабочего стола",
    "Użytkownicy pulpitu zdalnego", "Uživatelé vzdálené plochy", "Fjärrskrivbordsanvändare",
    "Uzak Masaüstü Kullanıcıları", "Távoli asztal felhasználói"))
#: BUILTIN\Guests (S-1-5-32-546) and the Guest account (RID 501), same conventions.
GUESTS_NAMES: frozenset[str] = frozenset(n.casefold() for n in (
    "Guests", "Gäste", "Invités", "Invitados", "Convidados", "Gasten", "Гости", "Goście",
    "Hosté", "Gäster", "Konuklar", "Vendégek",
    "Guest", "Gast", "Invité", "Invitado", "Convidado", "Гость", "Gość", "Host", "Gäst",
    "Konuk", "Vendég"))


#: Well-known groups every member of Remote Desktop Users also belongs to (so granting
#: one of them the RDS logon right grants Remote Desktop Users too): SID → English names.
#: gpresult /h and /z (and /x from a domain controller) name members without a SID, in
#: the report's language: the names of de, fr, es, it, pt-BR, pt-PT, nl, ru, pl, cs, sv, tr,
#: hu Windows (confidence M: from Microsoft's localized well-known names, not yet seen in a
#: customer report). English-only tables gave a false user-not-authorized error on a German
#: report granting "Authentifizierte Benutzer".
def _names(*names: str) -> frozenset[str]:
    return frozenset(n.casefold() for n in names)


RDU_SUPERSETS: dict[str, frozenset[str]] = {
    "S-1-1-0": _names("Everyone", "Jeder", "Tout le monde", "Todos", "Iedereen", "Все",
                      "Wszyscy", "Alla", "Herkes", "Mindenki", "Každý"),
    "S-1-5-11": _names("Authenticated Users", "Authentifizierte Benutzer",
                       "Utilisateurs authentifiés", "Usuarios autentificados",
                       "Usuarios autenticados", "Utenti autenticati", "Usuários autenticados",
                       "Utilizadores autenticados", "Geverifieerde gebruikers",
                       "Прошедшие проверку", "Użytkownicy uwierzytelnieni",
                       "Ověření uživatelé", "Autentiserade användare",
                       "Kimliği Doğrulanmış Kullanıcılar", "Hitelesített felhasználók"),
    "S-1-5-32-545": _names("Users", "Benutzer", "Utilisateurs", "Usuarios", "Utenti",
                           "Usuários", "Utilizadores", "Gebruikers", "Пользователи",
                           "Użytkownicy", "Uživatelé", "Användare", "Kullanıcılar",
                           "Felhasználók"),
    "S-1-5-14": _names("Remote Interactive Logon", "Remoteinteraktive Anmeldung",
                       "Ouverture de session interactive à distance",
                       "Inicio de sesión interactivo remoto"),
}
#: "Local account" (S-1-5-113) and "Local account and member of Administrators group"
#: (S-1-5-114): denying them RDP is the Microsoft / CIS baseline for member servers; domain
#: accounts are not affected.
LOCAL_ACCOUNT_SIDS: dict[str, frozenset[str]] = {
    "S-1-5-113": _names("Local account", "Lokales Konto", "Compte local", "Cuenta local",
                        "Account locale", "Conta local", "Lokaal account",
                        "Локальная учетная запись", "Konto lokalne", "Lokalt konto",
                        "Místní účet", "Yerel hesap", "Helyi fiók"),
    "S-1-5-114": _names("Local account and member of Administrators group",
                        'Lokales Konto und Mitglied der Gruppe "Administratoren"',
                        "Compte local et membre du groupe Administrateurs",
                        "Cuenta local y miembro del grupo Administradores"),
}


#: What shows a gpresult's computer is a domain controller, whose "Allow log on through
#: Remote Desktop Services" grants Administrators only by default (KNOWLEDGE §3.3, S9/S27):
#: its OU — the built-in Domain Controllers OU, ``corp.example/Domain Controllers`` (the
#: OU's name is the same on every UI language: P) — or its membership of Domain
#: Controllers (RID 516 of the domain) or ENTERPRISE DOMAIN CONTROLLERS (S-1-5-9). Read-only
#: DCs (RID 521, S-1-5-21-…-498) are left out: their groups are not in this table (M).
DC_OU = "domain controllers"
DC_GROUP_RID = "516"
DC_GROUP_SIDS: dict[str, frozenset[str]] = {
    "S-1-5-9": _names("Enterprise Domain Controllers"),
}
DC_GROUP_NAMES: frozenset[str] = _names("Domain Controllers")


#: The authorities well-known groups are shown under, in the languages we know: a name
#: qualified by any other domain or computer (``CONTOSO\\Benutzer``) is an account of its
#: own, not the well-known group of that name.
WELL_KNOWN_DOMAINS: frozenset[str] = frozenset(n.casefold() for n in (
    "BUILTIN", "NT AUTHORITY", "VORDEFINIERT", "NT-AUTORITÄT", "AUTORITE NT", "AUTORITÉ NT",
    "AUTORIDAD NT", "AUTORIDADE NT", "NT-AUTORITEIT", "ZARZĄDZANIE NT", "NT-INSTANS",
    "NT YETKİLİSİ", "NT AUTORITY", "INTEGRADO", "INGEBOUWD", "WBUDOWANE", "VESTAVĚNÉ",
    "INBYGGD", "YERLEŞİK", "BEÉPÍTETT", "LOCAL", "WORLD", "NT SERVICE"))


def well_known_qualifier(name) -> bool:
    """Whether ``name`` is unqualified or qualified by a well-known authority."""
    s = str(name or "").strip()
    return "\\" not in s or s.rsplit("\\", 1)[0].strip().casefold() in WELL_KNOWN_DOMAINS


def account_name(name) -> str:
    """``VORDEFINIERT\\Remotedesktopbenutzer`` → ``remotedesktopbenutzer`` (for the tables)."""
    return str(name or "").strip().rsplit("\\", 1)[-1].casefold()


#: Known events that matter only with one field value: successful logons are read by the
#: brute-force detector and the report's session lane only when they are RDP logons
#: (LogonType 10, RemoteInteractive); the relevance filter drops the rest (service and
#: network logons are most of a busy Security log). Failed logons (4625) stay whole: NLA
#: failures are type 3.
VALUE_RULES: dict[tuple[str, int], tuple[str, frozenset[str] | re.Pattern]] = {
    ("security", 4624): ("LogonType", frozenset({"10"})),
    ("security", 528): ("LogonType", frozenset({"10"})),
    ("security", 540): ("LogonType", frozenset({"10"})),
    # service state changes of other services are most of a busy System log; a 7036 without
    # Binary (2003, some exports) is kept: only its localized display name tells
    ("scm", 7036): ("Binary", SCM_STATE_RDP),
}

#: Channels whose every event is worth keeping (RDP-specific logs).
RELEVANT_CHANNELS: tuple[str, ...] = (
    "microsoft-windows-terminalservices-remoteconnectionmanager/operational",
    "microsoft-windows-terminalservices-remoteconnectionmanager/admin",
    "microsoft-windows-terminalservices-localsessionmanager/operational",
    "microsoft-windows-terminalservices-localsessionmanager/admin",
    "microsoft-windows-remotedesktopservices-rdpcorets/operational",
    "microsoft-windows-remotedesktopservices-rdpcorets/admin",
    "microsoft-windows-terminalservices-licensing/admin",
    "microsoft-windows-terminalservices-licensing/operational",
)

#: Provider names as they appear in logs, per family (used to build the relevance filter).
_FAMILY_NAMES: dict[str, list[str]] = {}
for _name, _fam in PROVIDER_FAMILY.items():
    _FAMILY_NAMES.setdefault(_fam, []).append(_name)


def family(provider: str | None) -> str | None:
    if not provider:
        return None
    return PROVIDER_FAMILY.get(provider.strip().lower())


def event_type_for(provider: str | None, event_id: int | None) -> str:
    fam = family(provider)
    if fam is None or event_id is None:
        return "event:other"
    eid = int(event_id)
    t = EVENT_TYPES.get((fam, eid))
    if t is None and fam == "termservice":
        # 2008/2008 R2 write RemoteConnectionManager's events to System under the legacy
        # source name TermService (KNOWLEDGE E12): what classic exports (Get-EventLog, the
        # event-viewer CSV, .evt) show as the source. Ids 2003's TermService does not use
        # are read as RCM's (1128 grace expired, 1130/1131 no license server, 1070 ...).
        t = EVENT_TYPES.get(("rcm", eid))
    return t or f"event:{fam}"


def relevance() -> Relevance:
    """The relevance filter: every known (provider, id), every RDP channel, whole RDP
    providers (RCM/LSM/RdpCoreTS/TermService/TermDD) and TermService-family service events."""
    whole = {"termdd", "termservice", "termservlicensing", "rcm", "lsm", "rdpcorets",
             "tslicensing", "lsm-legacy", "schannel"}
    providers: dict[str, frozenset[int] | None] = {}
    ids_by_family: dict[str, set[int]] = {}
    for (fam, eid) in EVENT_TYPES:
        if (fam, eid) not in NOT_RELEVANT:
            ids_by_family.setdefault(fam, set()).add(eid)
    for fam, names in _FAMILY_NAMES.items():
        ids = None if fam in whole else frozenset(ids_by_family.get(fam, ()))
        for n in names:
            providers[n] = ids
    channels: dict[str, frozenset[int] | None] = {c: None for c in RELEVANT_CHANNELS}
    values = {(name, eid): rule for (fam, eid), rule in VALUE_RULES.items()
              for name in _FAMILY_NAMES.get(fam, ())}
    return Relevance(providers=providers, channels=channels, values=values)
