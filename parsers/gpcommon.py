"""Group Policy knowledge shared by the gpresult readers (XML, HTML, text) and the config.

Data, not code (KNOWLEDGE.md Part B §3.2/§3.3): which Administrative-Template policy writes
which ``POL`` registry value, under all three generations of display names (2003, 2008,
2008 R2 → 2025), and how its state and parts become that value; the display names of the
RDP-relevant user rights; the FIPS security option. ``analyzer.config`` reads the rows the
parsers produce with this mapping already applied (``registry_value`` / ``value``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

#: Registry key of the machine (and user) Terminal Services policy.
POL_KEY = r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"
CREDSSP_KEY = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters"


def norm(s: str | None) -> str:
    """Case- and spacing-insensitive form of a display name or label."""
    # (typographic apostrophes, as French reports write them, fold to the plain one)
    return re.sub(r"\s+", " ", (s or "").replace("\u2019", "'").strip().rstrip(":").strip()
                  ).casefold()


_UNITS_MS = {"minute": 60_000, "minutes": 60_000, "hour": 3_600_000, "hours": 3_600_000,
             "day": 86_400_000, "days": 86_400_000, "second": 1000, "seconds": 1000}


def time_limit_ms(text: Any) -> int | None:
    """``"15 minutes"`` → 900000, ``"Never"`` → 0; None when unreadable (localized)."""
    if text is None:
        return None
    s = norm(str(text))
    if s == "never":
        return 0
    m = re.fullmatch(r"(\d+)\s*(second|seconds|minute|minutes|hour|hours|day|days)", s)
    if m:
        return int(m.group(1)) * _UNITS_MS[m.group(2)]
    return None


def _choice(table: dict[str, int]) -> Callable[[Any], int | None]:
    t = {norm(k): v for k, v in table.items()}
    return lambda v: t.get(norm(str(v))) if v is not None else None


def _int(v: Any) -> int | None:
    try:
        return int(str(v).strip())
    except (TypeError, ValueError):
        return None


def _text(v: Any) -> str | None:
    return None if v is None else str(v)


@dataclass(frozen=True)
class PolicyMap:
    """One Administrative-Template policy and the registry values it writes."""

    names: tuple[str, ...]                       # display names, every generation
    enabled: dict[str, Any]                      # value name → constant when Enabled
    disabled: dict[str, Any] = field(default_factory=dict)  # value name → constant if Disabled
    parts: dict[str, tuple[tuple[str, ...], Callable[[Any], Any]]] = field(default_factory=dict)
    # value name → (part labels, converter) read when Enabled
    key: str = POL_KEY
    categories: tuple[str, ...] = ("remote desktop", "terminal serv")


POLICIES: tuple[PolicyMap, ...] = (
    PolicyMap(("Allow users to connect remotely by using Remote Desktop Services",
               "Allow users to connect remotely using Terminal Services",
               "Allow users to connect remotely using Remote Desktop Services"),
              enabled={"fDenyTSConnections": 0}, disabled={"fDenyTSConnections": 1}),
    PolicyMap(("Limit number of connections",),
              enabled={}, parts={"MaxInstanceCount": (("RD Maximum Connections allowed",
                                                       "TS Maximum Connections allowed",
                                                       "Maximum Connections allowed"), _int)}),
    PolicyMap(("Restrict Remote Desktop Services users to a single Remote Desktop Services session",
               "Restrict Terminal Services users to a single remote session",
               "Restrict Terminal Services users to a single remote Terminal Services session",
               "Limit users to one remote session"),
              enabled={"fSingleSessionPerUser": 1}, disabled={"fSingleSessionPerUser": 0}),
    PolicyMap(("Configure keep-alive connection interval", "Keep-Alive Connections"),
              enabled={"KeepAliveEnable": 1}, disabled={"KeepAliveEnable": 0},
              parts={"KeepAliveInterval": (("Keep-Alive interval", "Keep-Alive interval (in minutes)"),
                                           _int)}),
    PolicyMap(("Set client connection encryption level",),
              enabled={}, parts={"MinEncryptionLevel": (("Encryption Level",), _choice({
                  "Low Level": 1, "Low": 1, "Client Compatible": 2, "High Level": 3, "High": 3,
                  "FIPS Compliant": 4}))}),
    PolicyMap(("Require use of specific security layer for remote (RDP) connections",
               "Require use of specific security layer for remote connections"),
              enabled={}, parts={"SecurityLayer": (("Security Layer",), _choice({
                  "RDP": 0, "Negotiate": 1, "SSL": 2, "SSL (TLS 1.0)": 2, "TLS": 2}))}),
    PolicyMap(("Require user authentication for remote connections by using Network Level Authentication",
               "Require user authentication using RDP 6.0 for remote connections"),
              enabled={"UserAuthentication": 1}, disabled={"UserAuthentication": 0}),
    PolicyMap(("Set time limit for disconnected sessions", "Sets a time limit for disconnected sessions"),
              enabled={}, disabled={}, parts={"MaxDisconnectionTime": (
                  ("End a disconnected session", "End a disconnected session in"), time_limit_ms)}),
    PolicyMap(("Set time limit for active but idle Remote Desktop Services sessions",
               "Set time limit for active but idle Terminal Services sessions",
               "Sets a time limit for active but idle Terminal Services sessions"),
              enabled={}, parts={"MaxIdleTime": (("Idle session limit",), time_limit_ms)}),
    PolicyMap(("End session when time limits are reached",
               "Terminate session when time limits are reached"),
              enabled={"fResetBroken": 1}, disabled={"fResetBroken": 0}),
    PolicyMap(("Use the specified Remote Desktop license servers",
               "Use the specified Terminal Server license servers",
               "Use the specified Terminal Services license servers"),
              enabled={}, parts={"LicenseServers": (("License servers to use",), _text)}),
    PolicyMap(("Set the Remote Desktop licensing mode", "Set the Terminal Server licensing mode",
               "Set the Terminal Services licensing mode"),
              enabled={}, parts={"LicensingMode": (
                  ("Specify the licensing mode for the RD Session Host server",
                   "Specify the licensing mode for the Terminal Server",
                   "Specify the licensing mode for the RD Session Host server."),
                  _choice({"Per Device": 2, "Per User": 4, "AAD Per User": 6}))}),
    PolicyMap(("Always prompt for password upon connection", "Always prompt client for password upon connection"),
              enabled={"fPromptForPassword": 1}, disabled={"fPromptForPassword": 0}),
    PolicyMap(("Encryption Oracle Remediation",),
              enabled={}, key=CREDSSP_KEY, categories=("credentials delegation",),
              parts={"AllowEncryptionOracle": (("Protection Level",), _choice({
                  "Force Updated Clients": 0, "Mitigated": 1, "Vulnerable": 2}))}),
    PolicyMap(("Configure Solicited Remote Assistance", "Solicited Remote Assistance"),
              enabled={"fAllowToGetHelp": 1}, disabled={"fAllowToGetHelp": 0},
              categories=("remote assistance",)),
)

_BY_NAME: dict[str, PolicyMap] = {norm(n): p for p in POLICIES for n in p.names}


#: "Remote Desktop Services" / "Terminal Services" as policy category paths spell them, in
#: English and the UI languages as best known (case-folded substrings; unverified beyond
#: English and Russian).
RDP_CATEGORY_WORDS: tuple[str, ...] = (
    "remote desktop", "terminal serv", "remotedesktop", "terminaldienste", "bureau à distance",
    "terminal server", "escritorio remoto", "desktop remoto", "servizi terminal",
    "área de trabalho remota", "ambiente de trabalho remoto", "serviços de terminal",
    "extern bureaublad", "удаленных рабочих столов", "удаленного рабочего стола",
    "служб терминалов", "службы терминалов", "pulpitu zdalnego", "usługi terminalowe",
    "vzdálené plochy", "terminálové služby", "fjärrskrivbord", "terminaltjänster",
    "uzak masaüstü", "terminal hizmetleri", "リモート デスクトップ", "ターミナル サービス",
    "远程桌面", "终端服务", "원격 데스크톱", "터미널 서비스")


def rdp_category(path: str | None) -> bool:
    """Whether a policy's category path is under Remote Desktop / Terminal Services."""
    p = (path or "").casefold()
    return any(w in p for w in RDP_CATEGORY_WORDS)


def unmapped_rdp_policies(names: list[str]) -> str:
    """The warning for Remote Desktop policies of a localized report that no registry value
    could be found for (``/h`` and ``/x`` reports name policies in the display language)."""
    shown = "; ".join(f'"{n}"' for n in names[:5]) + (" …" if len(names) > 5 else "")
    return (f"{len(names)} Remote Desktop polic{'y' if len(names) == 1 else 'ies'} of this "
            f"localized report could not be mapped to registry values ({shown}): the settings "
            "they make are missing from the effective configuration. Ask for `reg export "
            "\"HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\"` "
            "(the same in every language)")


def policy_map(name: str | None, category: str | None = None) -> PolicyMap | None:
    """The mapping for a policy display name, or None. An English category that names
    some other component rules the match out (same display name, different policy)."""
    p = _BY_NAME.get(norm(name))
    if p is None:
        return None
    cat = norm(category)
    if cat and cat.isascii() and not any(c in cat for c in p.categories):
        return None
    return p


def policy_values(name: str | None, state: str | None, parts: dict[str, Any],
                  category: str | None = None) -> dict[str, Any]:
    """Registry values ({value name: value}) a policy in ``state`` with ``parts`` writes.

    Empty when the policy is not RDP-relevant. A value that cannot be derived (an unknown
    dropdown text, a localized label) is present with None, so the caller can say so.
    """
    p = policy_map(name, category)
    if p is None:
        return {}
    st = norm(state)
    out: dict[str, Any] = {}
    if st in ENABLED_WORDS:
        out.update(p.enabled)
        nparts = {norm(k): v for k, v in parts.items()}
        for value_name, (labels, conv) in p.parts.items():
            raw = next((nparts[norm(lbl)] for lbl in labels if norm(lbl) in nparts), None)
            if raw is None and len(parts) == 1 and len(p.parts) == 1:
                raw = next(iter(parts.values()))          # a single part, label localized
            out[value_name] = conv(raw) if raw is not None else None
    elif st in DISABLED_WORDS:
        out.update(p.disabled)
    return out


# --------------------------------------------------------------------------- security


#: User-right display names (old and new, plus a few localized) → constant.
USER_RIGHTS: dict[str, str] = {norm(k): v for k, v in {
    "Allow log on through Remote Desktop Services": "SeRemoteInteractiveLogonRight",
    "Allow log on through Terminal Services": "SeRemoteInteractiveLogonRight",
    "Allow logon through Terminal Services": "SeRemoteInteractiveLogonRight",
    "Deny log on through Remote Desktop Services": "SeDenyRemoteInteractiveLogonRight",
    "Deny log on through Terminal Services": "SeDenyRemoteInteractiveLogonRight",
    "Deny logon through Terminal Services": "SeDenyRemoteInteractiveLogonRight",
    "Allow log on locally": "SeInteractiveLogonRight",
    "Deny log on locally": "SeDenyInteractiveLogonRight",
    "Access this computer from the network": "SeNetworkLogonRight",
    "Deny access to this computer from the network": "SeDenyNetworkLogonRight",
    "Разрешить вход в систему через службу удаленных рабочих столов": "SeRemoteInteractiveLogonRight",
    "Разрешать вход в систему через службу удаленных рабочих столов": "SeRemoteInteractiveLogonRight",
    "Запретить вход в систему через службу удаленных рабочих столов": "SeDenyRemoteInteractiveLogonRight",
    "Autoriser l'ouverture de session par les services Bureau à distance": "SeRemoteInteractiveLogonRight",
    "Interdire l'ouverture de session par les services Bureau à distance": "SeDenyRemoteInteractiveLogonRight",
    "Anmelden über Remotedesktopdienste zulassen": "SeRemoteInteractiveLogonRight",
    "Anmelden über Remotedesktopdienste verweigern": "SeDenyRemoteInteractiveLogonRight",
    # es / it / nl / pl as best known (not yet seen in a report)
    "Permitir inicio de sesión a través de Servicios de Escritorio remoto":
        "SeRemoteInteractiveLogonRight",
    "Denegar inicio de sesión a través de Servicios de Escritorio remoto":
        "SeDenyRemoteInteractiveLogonRight",
    "Consenti accesso tramite Servizi Desktop remoto": "SeRemoteInteractiveLogonRight",
    "Nega accesso tramite Servizi Desktop remoto": "SeDenyRemoteInteractiveLogonRight",
    "Aanmelden via Extern bureaublad-services toestaan": "SeRemoteInteractiveLogonRight",
    "Aanmelden via Extern bureaublad-services weigeren": "SeDenyRemoteInteractiveLogonRight",
    "Zezwalaj na logowanie za pomocą usług pulpitu zdalnego": "SeRemoteInteractiveLogonRight",
    "Odmowa logowania za pomocą usług pulpitu zdalnego": "SeDenyRemoteInteractiveLogonRight",
}.items()}


_SID_MEMBER = re.compile(r"\*?(S-1-[0-9]+(?:-[0-9]+)+)", re.IGNORECASE)


def right_member(text: str) -> dict[str, str | None]:
    """A user-right member as a text report prints it: a name (``BUILTIN\\Administrators``)
    or, for an account the report could not resolve, its SID with a star (``*S-1-5-32-555``,
    what ``secedit`` and gpresult /z print): then ``sid`` carries it."""
    text = text.strip()
    m = _SID_MEMBER.fullmatch(text)
    return {"name": text, "sid": m.group(1).upper()} if m else {"name": text, "sid": None}


def user_right_constant(name: str) -> str | None:
    """``SeRemoteInteractiveLogonRight`` for a constant or a known display name."""
    s = (name or "").strip()
    if re.fullmatch(r"Se[A-Za-z]+(Right|Privilege)", s):
        return s
    if re.fullmatch(r"[A-Za-z]+LogonRight", s):                # gpresult /z drops the "Se"
        return "Se" + s
    return USER_RIGHTS.get(norm(s))


FIPS_KEYS = (r"MACHINE\System\CurrentControlSet\Control\Lsa\FIPSAlgorithmPolicy\Enabled",
             r"MACHINE\System\CurrentControlSet\Control\Lsa\FIPSAlgorithmPolicy")


def is_fips_option(key_name: str | None, display_name: str | None = None) -> bool:
    """The FIPS security option, by its key or by its display name — in any language: it is
    the only security option whose name carries "FIPS" (German "Systemkryptografie:
    FIPS-konformen Algorithmus …", French "Chiffrement système : utiliser des algorithmes
    compatibles FIPS …")."""
    k = (key_name or "").casefold()
    if k and any(k == f.casefold() for f in FIPS_KEYS):
        return True
    return re.search(r"(?<![a-z])fips(?![a-z])", norm(display_name)) is not None


#: Enabled / Disabled as gpresult shows a policy or security option, in the UI languages as
#: best known (case-folded; en and ru seen in reports, the others unverified).
ENABLED_WORDS: frozenset[str] = frozenset({
    "enabled", "true", "1", "включен", "включено", "activé", "activée", "aktiviert",
    "habilitado", "habilitada", "attivato", "attivata", "ativado", "ativada", "ingeschakeld",
    "włączone", "włączony", "povoleno", "aktiverad", "etkin", "engedélyezve", "有効", "已启用",
    "사용"})
DISABLED_WORDS: frozenset[str] = frozenset({
    "disabled", "false", "0", "отключен", "отключено", "désactivé", "désactivée", "deaktiviert",
    "deshabilitado", "deshabilitada", "disattivato", "disattivata", "desativado", "desativada",
    "uitgeschakeld", "wyłączone", "wyłączony", "zakázáno", "inaktiverad", "devre dışı",
    "letiltva", "無効", "已禁用", "사용 안 함"})


def state_value(text: Any) -> int | None:
    """Enabled/Disabled (and true/false) as 1/0 — the security-option display forms."""
    s = norm(str(text)) if text is not None else ""
    if s in ENABLED_WORDS:
        return 1
    if s in DISABLED_WORDS:
        return 0
    return None


def host_from_account(name: str | None) -> str | None:
    """``oriontech\\WIN-1CPI0V6RVEL$`` → ``WIN-1CPI0V6RVEL``."""
    if not name:
        return None
    h = name.strip().split("\\")[-1].rstrip("$").split(".")[0].strip()
    return h.upper() or None
