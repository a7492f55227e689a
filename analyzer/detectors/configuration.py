"""Configuration detectors: what the effective registry + Group Policy configuration says.

Every finding here names the source that decided the value (the local RDP-Tcp key, the
policy key, or the winning GPO from gpresult), because "I set it to X and it is still Y" is
the usual support conversation. Values come from ``analyzer.config`` (``bundle.config``);
a documented default is not evidence, so a setting the bundle does not contain leaves the
detector ``not-evaluated``.
"""
from __future__ import annotations

from parsers import gpcommon as gc

from .. import timeline as tl
from ..findings import Evidence
from . import Context, Passed, detector

UNLIMITED = (0xFFFFFFFF, 999999)
SECURITY_LAYER = {0: "RDP (0)", 1: "Negotiate (1)", 2: "SSL/TLS (2)"}
ENCRYPTION = {1: "Low (1)", 2: "Client Compatible (2)", 3: "High (3)", 4: "FIPS Compliant (4)"}

TS_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server"
RDPTCP_KEY = TS_KEY + "\\WinStations\\RDP-Tcp"
POL_KEY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services"


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


#: The Administrative Templates folder of each policy the remedies name (2008 R2+ and 2008
#: names; 2003's differ, see :func:`_policy_path`) — KNOWLEDGE.md §3.2.
_POLICY_FOLDER = {
    "allow users to connect remotely by using remote desktop services": "Connections",
    "allow users to connect remotely using terminal services": "Connections",
    "limit number of connections": "Connections",
    "set client connection encryption level": "Security",
    "require use of specific security layer for remote (rdp) connections": "Security",
    "require user authentication for remote connections by using network level "
    "authentication": "Security",
}
#: 2003's folders under Terminal Services: the connection policies sit in the folder itself
#: (TechNet cc781085: "...Terminal Services, Encryption and Security, ... Set client
#: connection encryption level"; cc776289)
_FOLDER_2003 = {"Connections": None, "Security": "Encryption and Security",
                "Licensing": "Licensing", "Session Time Limits": "Sessions"}


def _ts_policy_generation(ctx: Context) -> str:
    """'2003', '2008' (NT 6.0: "Terminal Services > Terminal Server") or 'rds' (2008 R2 and
    later: "Remote Desktop Services > Remote Desktop Session Host"; also when the version
    is unknown)."""
    if ctx.os() == "2003":
        return "2003"
    v = ctx.nt_version()
    return "2008" if v is not None and 6.0 <= v < 6.1 else "rds"


def _policy_path(ctx: Context, folder: str | None) -> str:
    """Where a Terminal Services policy of ``folder`` (Connections, Security, Licensing,
    Session Time Limits) lives in the Group Policy editor for this OS (KNOWLEDGE.md §3.2;
    TechNet cc731606, cc771869 for 2008)."""
    gen = _ts_policy_generation(ctx)
    base = "Computer Configuration > Administrative Templates > Windows Components > "
    if gen == "2003":
        base += "Terminal Services"
        folder = _FOLDER_2003.get(folder) if folder else None
    elif gen == "2008":
        base += "Terminal Services > Terminal Server"
    else:
        base += "Remote Desktop Services > Remote Desktop Session Host"
    return base + (f" > {folder}" if folder else "")


def _policy_name(ctx: Context, policy: str) -> str:
    """The policy's display name on this OS: "Allow users to connect remotely" names
    Terminal Services up to 2008 (KNOWLEDGE.md §3.2, cc731606)."""
    if policy.lower().startswith("allow users to connect remotely"):
        return ("Allow users to connect remotely using Terminal Services"
                if _ts_policy_generation(ctx) in ("2003", "2008") else
                "Allow users to connect remotely by using Remote Desktop Services")
    return policy


def _gp_step(row: dict, ctx: Context, policy: str, folder: str | None = None) -> str | None:
    """A remedy step telling the admin to change the GPO when policy decided: the policy's
    name and folder as this OS's Group Policy editor shows them."""
    if row.get("origin") in ("gpresult", "policy"):
        gpo = f' "{row["gpo"]}"' if row.get("gpo") else ""
        folder = folder or _POLICY_FOLDER.get(policy.lower())
        return (f"The value comes from Group Policy{gpo}: change \"{_policy_name(ctx, policy)}\" "
                f"there ({_policy_path(ctx, folder)}), then run `gpupdate /force` on the server; "
                "a local change would be overwritten.")
    return None


def restart_termservice_step(ctx: Context) -> str:
    """How to restart Terminal Services on this OS. 2003 cannot restart it alone: reboot.
    From 2008 on, `net stop TermService` asks Y/N for the dependent UserMode Port
    Redirector (UmRdpService), which it then leaves stopped; every RDP session ends (found
    by review)."""
    if ctx.os() == "2003":
        return "Reboot the server (Terminal Services cannot be restarted on its own on 2003)."
    v = ctx.nt_version()
    name = "Terminal Services" if v is not None and 6.0 <= v < 6.1 else "Remote Desktop Services"
    return (f"Restart the {name} service (TermService) — this ends every RDP session, so run it "
            "from the console or another remote tool: `net stop TermService /y` (it stops the "
            "dependent UmRdpService too), then `net start TermService` and `net start "
            "UmRdpService`; or reboot the server.")


def _firewall_step(ctx: Context) -> str:
    """The firewall step for the effective RDP port: 2003 SP1's Windows Firewall has a
    "Remote Desktop" exception (TCP 3389 only); from 2008 on, Windows Firewall with Advanced
    Security has a "Remote Desktop" rule group, also for 3389. Another port needs its own
    rule ("configure your firewall to permit connections to the new port number":
    learn.microsoft.com, "Change the listening port in Remote Desktop")."""
    row = ctx.setting("PortNumber")
    port = _int(row["value"]) if row is not None else None
    port = 3389 if port is None else port
    net = " and any network firewall on the way"
    if ctx.os() == "2003":
        if port == 3389:
            return ("Make sure Windows Firewall (2003 SP1 and later) allows TCP 3389: Windows "
                    "Firewall > Exceptions > tick \"Remote Desktop\"" + net + ".")
        return (f"Make sure the firewall allows TCP {port} (RDP-Tcp's PortNumber): Windows "
                "Firewall's \"Remote Desktop\" exception (2003 SP1 and later) opens TCP 3389 "
                f"only — add a port exception for TCP {port} (Windows Firewall > Exceptions > "
                "Add Port…)" + net + ".")
    if port == 3389:
        return ("Make sure the firewall allows TCP 3389: enable the \"Remote Desktop\" rule "
                "group in Windows Firewall with Advanced Security" + net + ".")
    return (f"Make sure the firewall allows TCP {port} (RDP-Tcp's PortNumber): the built-in "
            "\"Remote Desktop\" rules are for TCP 3389 — add an inbound rule: `netsh "
            f"advfirewall firewall add rule name=\"Remote Desktop TCP {port}\" dir=in "
            f"action=allow protocol=TCP localport={port}`" + net + ".")


@detector(id="rdp-disabled", severity="critical", title="Remote Desktop is disabled",
          inputs=("reg", "gpresult"), references=("KB2477023",))
def rdp_disabled(ctx: Context):
    """Remote Desktop connections are switched off, so nothing listens for RDP at all.

    The effective ``fDenyTSConnections`` is 1 (the System Properties "Remote" tab is off, or
    the policy "Allow users to connect remotely by using Remote Desktop Services" is
    Disabled, which wins over the local value), or the RDP-Tcp listener itself is disabled
    (``WinStations\\RDP-Tcp\\fEnableWinStation`` = 0). Clients get "Remote Desktop can't
    connect to the remote computer" before any logon happens. References: KB2477023 part 1.
    """
    deny = ctx.setting("fDenyTSConnections")
    winsta = ctx.setting("fEnableWinStation")
    if deny is None and winsta is None:
        return ctx.not_evaluated("reg", "gpresult")
    if deny is None and not (winsta is not None and _int(winsta["value"]) == 0):
        # only RDP-Tcp's fEnableWinStation is known: whether connections are denied is not
        # (the value is on every install, so an export of the key without it is partial —
        # a `reg query` of some values, a cut file: KNOWLEDGE G01, absent ⇒ unknown)
        return ctx.not_evaluated("reg", "gpresult", note="fDenyTSConnections is not in the "
                                 "bundle (" + ("the export of the Terminal Server key lacks it"
                                               if ctx.ts_key_exported(itself=True) else
                                               "no export of the Terminal Server key itself")
                                 + ")")
    out = []
    if deny is not None and _int(deny["value"]) == 1:
        ev = ctx.cfg_evidence(deny) + _listener_symptoms(ctx)
        steps = []
        gp = _gp_step(deny, ctx, "Allow users to connect remotely by using Remote Desktop Services")
        if gp:
            steps.append(gp)
        if ctx.os() == "2003":
            steps.append("Locally: System Properties (sysdm.cpl) > Remote > tick \"Enable Remote "
                         "Desktop on this computer\".")
        else:
            steps.append("Locally: SystemPropertiesRemote.exe > \"Allow remote connections to this "
                         "computer\" (or Server Manager > Local Server > Remote Desktop).")
        steps.append(f"Or: reg add \"{TS_KEY}\" /v fDenyTSConnections /t REG_DWORD /d 0 /f")
        steps.append(_firewall_step(ctx))
        out.append(ctx.finding(
            f"fDenyTSConnections = 1 (Remote Desktop connections denied), set by "
            f"{ctx.source_phrase(deny)}", ev, steps,
            details={"setting": "fDenyTSConnections", "value": 1, "origin": deny.get("origin"),
                     "gpo": deny.get("gpo")}))
    if winsta is not None and _int(winsta["value"]) == 0:
        out.append(ctx.finding(
            f"the RDP-Tcp listener is disabled (fEnableWinStation = 0), set by "
            f"{ctx.source_phrase(winsta)}", ctx.cfg_evidence(winsta) + _listener_symptoms(ctx),
            [f"reg add \"{RDPTCP_KEY}\" /v fEnableWinStation /t REG_DWORD /d 1 /f",
             restart_termservice_step(ctx),
             "Check with `qwinsta` that `rdp-tcp … Listen` is back."],
            title="The RDP-Tcp listener is disabled",
            details={"setting": "fEnableWinStation", "value": 0}))
    return out


def _listener_symptoms(ctx: Context) -> list[Evidence]:
    """Supporting rows: qwinsta without a listener row (if qwinsta is in the bundle)."""
    q = ctx.etype("session:winstation")
    if not len(q):
        return []
    names = q["data"].astype("string").str.lower()
    if names.str.contains('"rdp-tcp"', regex=False).fillna(False).any():
        return []
    return [Evidence(source=str(q.iloc[0]["source"]), locator="(whole output)",
                     excerpt="qwinsta shows no rdp-tcp listener row")]


@detector(id="connection-limit-policy", severity="warning",
          title="The number of RDP connections is limited",
          inputs=("reg", "gpresult"), references=("KB2477023", "KB830581"))
def connection_limit_policy(ctx: Context):
    """A finite connection limit is configured on the RDP listener.

    The effective ``MaxInstanceCount`` (policy "Limit number of connections", or the RDP-Tcp
    "Maximum connections" value) is not unlimited (0xFFFFFFFF / 999999). Once that many
    sessions exist — disconnected ones count — further users get "the maximum number of
    connections was exceeded". References: KB2477023 part 1, KB830581.
    """
    row = ctx.setting("MaxInstanceCount")
    if row is None:
        return ctx.not_evaluated("reg", "gpresult")
    v = _int(row["value"])
    if v is None or v in UNLIMITED:
        return []
    steps = []
    gp = _gp_step(row, ctx, "Limit number of connections")
    if gp:
        steps.append(gp)
    if ctx.os() == "2003":
        steps.append("Locally: Terminal Services Configuration (tscc.msc) > Connections > RDP-Tcp > "
                     "Properties > Network Adapter > Maximum connections: Unlimited.")
    else:
        steps.append(f"Locally: reg add \"{RDPTCP_KEY}\" /v MaxInstanceCount /t REG_DWORD /d "
                     "0xffffffff /f (unlimited), or raise the limit to the number of users.")
    steps.append("Log off disconnected sessions that hold slots (`qwinsta`, `logoff ID`).")
    return [ctx.finding(f"connections are limited to {v} (MaxInstanceCount), set by "
                        f"{ctx.source_phrase(row)}", ctx.cfg_evidence(row), steps,
                        details={"limit": v, "origin": row.get("origin"), "gpo": row.get("gpo")})]


@detector(id="port-nondefault", severity="info", title="RDP listens on a non-default port",
          inputs=("reg", "gpresult"), references=("KB2477023",))
def port_nondefault(ctx: Context):
    """The RDP listener is configured for a port other than 3389.

    ``WinStations\\RDP-Tcp\\PortNumber`` is not 3389 (0x0d3d). That is legitimate, but every
    client must dial ``host:port``, the firewall must allow the new port, and a support
    engineer checking "is 3389 listening?" looks at the wrong port. A mismatch with the
    legacy ``Wds\\rdpwd\\Tds\\tcp\\PortNumber`` copy is a sign of hand editing. References:
    KB2477023 part 2.
    """
    row = ctx.setting("PortNumber")
    if row is None:
        return ctx.not_evaluated("reg")
    port = _int(row["value"])
    if port is None or port == 3389:
        return []
    tds = ctx.setting("PortNumberTds")
    extra = ""
    ev = ctx.cfg_evidence(row)
    if tds is not None and _int(tds["value"]) not in (None, port):
        extra = f"; the legacy Tds\\tcp copy says {_int(tds['value'])}"
        ev += ctx.cfg_evidence(tds)
    return [ctx.finding(
        f"RDP-Tcp PortNumber is {port} (0x{port:04x}), not 3389, set by "
        f"{ctx.source_phrase(row)}{extra}", ev,
        [f"Clients must connect to {ctx.host}:{port} (mstsc /v:{ctx.host}:{port}).",
         f"Allow TCP {port} inbound in the Windows Firewall and any network firewall.",
         f"Or return to the default: reg add \"{RDPTCP_KEY}\" /v PortNumber /t REG_DWORD /d 3389 "
         "/f, then restart the service / reboot."],
        details={"port": port})]


def _fips_unread(ctx: Context) -> str | None:
    """The source of a FIPS security-option row whose state word could not be read (a
    report language without known words): the effective configuration leaves it out, so
    "FIPS off" is then an assumption, not a reading."""
    rows = ctx.etype("gpo:security-option")
    if not len(rows):
        return None
    for r, d in zip(rows.itertuples(index=False), tl.data_dicts(rows)):
        if d.get("setting") == "FIPSAlgorithmPolicy" and d.get("value") is None \
                and gc.state_value(d.get("display_value")) is None:
            return str(r.source)
    return None


@detector(id="tls-requires-high-encryption", severity="error",
          title="TLS security layer with an encryption level below High",
          inputs=("reg", "gpresult"), references=("KB2477023",))
def tls_requires_high_encryption(ctx: Context):
    """The TLS (SSL) security layer is requested while the encryption level is below High.

    The effective ``SecurityLayer`` is Negotiate (1) or SSL (2) but ``MinEncryptionLevel``
    is Low (1) or Client Compatible (2) and the FIPS security option is off. The article
    states that TLS needs the High (3) or FIPS (4) encryption level. With SSL (2) TLS is
    required and the connection fails when it cannot be used: an error. With Negotiate (1)
    the server falls back to native RDP security and the connection still works, but TLS
    is never used, the server is not authenticated, and clients set to require server
    authentication fail: a warning. The article is Windows Server 2003's: on 2008 and
    later Negotiate with Client Compatible is the default and TLS works, so it is not
    reported there; with the Windows version unknown the finding is a warning that asks
    for ``systeminfo``. References: KB2477023 part 3.
    """
    sl, enc = ctx.setting("SecurityLayer"), ctx.setting("MinEncryptionLevel")
    if sl is None or enc is None:
        return ctx.not_evaluated("reg", "gpresult")
    gen = ctx.os()
    if gen == "2008+":
        return []
    layer, level = _int(sl["value"]), _int(enc["value"])
    fips = _int(ctx.value("FIPSAlgorithmPolicy", 0, allow_default=True)) == 1
    if layer not in (1, 2) or level is None or level >= 3 or fips:
        return []
    steps = []
    for row, pol in ((enc, "Set client connection encryption level"),):
        gp = _gp_step(row, ctx, pol)
        if gp:
            steps.append(gp + " Choose High Level.")
    if ctx.os() == "2003":
        steps.append("Locally: tscc.msc > Connections > RDP-Tcp > Properties > General > "
                     "Encryption level: High (or FIPS Compliant).")
    else:
        steps.append(f"Locally: reg add \"{RDPTCP_KEY}\" /v MinEncryptionLevel /t REG_DWORD /d 3 /f")
    steps.append("Or, if TLS cannot be used, set the security layer to RDP (0) — weaker.")
    unread = _fips_unread(ctx)
    caveat = (f"; the FIPS security option in {unread} has a state rdpdoctor cannot read — if "
              "it is Enabled, FIPS forces level 4 and this does not apply") if unread else ""
    if not unread and ctx.setting("FIPSAlgorithmPolicy") is None and not (
            ctx.has("lsa-reg") or ctx.has("gpresult")):
        # nothing in the bundle shows the FIPS option: "off" is the default, not a reading
        caveat += ("; the FIPS security option is not in the bundle (no Lsa export or Group "
                   "Policy report) — if it is Enabled, FIPS forces level 4 and this does not "
                   "apply")
    # The policy's explain text ("Require use of specific security layer", TechNet
    # cc770833; Win32_TSGeneralSetting.SetSecurityLayer on learn.microsoft.com: Negotiate
    # "If supported, SSL (TLS 1.0) will be used"): Negotiate — "If TLS is not supported, native RDP encryption is used";
    # SSL — "If TLS is not supported, the connection fails". So only SSL (2) breaks the
    # connection; Negotiate (1) silently loses TLS and server authentication (found by
    # review: Negotiate + Client Compatible was reported as an error, a false root cause).
    if layer == 2:
        effect = ": with SSL (2) required, connections fail when TLS cannot be used"
        severity = "error"
    else:
        effect = (": Negotiate (1) falls back to native RDP security — TLS is never used, the "
                  "server is not authenticated, and clients set to require server "
                  "authentication fail")
        severity = "warning"
    if gen is None:
        # 2008's own default is Negotiate + Client Compatible, and TLS works there: with the
        # version unknown this may be a healthy default, not an error
        caveat += ("; this holds on Windows Server 2003 (on 2008 and later TLS works at this "
                   "level) and the Windows version is unknown — send `systeminfo` output to "
                   "tell")
        severity = "warning"
        steps.insert(0, "Send `systeminfo` output: this applies only if the server runs "
                        "Windows Server 2003.")
    return [ctx.finding(
        f"SecurityLayer = {SECURITY_LAYER.get(layer, layer)} (by {ctx.source_phrase(sl)}) but "
        f"MinEncryptionLevel = {ENCRYPTION.get(level, level)} (by {ctx.source_phrase(enc)}); "
        "TLS needs High (3) or FIPS (4)" + effect + caveat,
        ctx.cfg_evidence(sl) + ctx.cfg_evidence(enc), steps,
        details={"SecurityLayer": layer, "MinEncryptionLevel": level},
        severity=None if severity == "error" else severity)]


@detector(id="fips-overrides-encryption", severity="warning",
          title="FIPS mode forces the RDP encryption level",
          inputs=("reg", "gpresult", "lsa-reg"), references=("KB2477023", "KB811833"))
def fips_overrides_encryption(ctx: Context):
    """The FIPS security option is on and overrides the RDP encryption level.

    "System cryptography: Use FIPS compliant algorithms for encryption, hashing, and
    signing" (``Lsa\\FipsAlgorithmPolicy\\Enabled`` = 1, or the 2003 ``Lsa\\FIPSAlgorithmPolicy``
    value) forces the RDP encryption level to FIPS Compliant (4) whatever the encryption
    level policy says; older clients without FIPS support cannot connect. References:
    KB2477023 part 3, KB811833.
    """
    row = ctx.setting("FIPSAlgorithmPolicy")
    if row is None:
        return ctx.not_evaluated("lsa-reg", "gpresult")
    if _int(row["value"]) != 1:
        return []
    enc = ctx.setting("MinEncryptionLevel")
    ev = ctx.cfg_evidence(row)
    said = ""
    if enc is not None and _int(enc["value"]) != 4:
        said = f"; the configured MinEncryptionLevel {ENCRYPTION.get(_int(enc['value']), enc['value'])} is overridden"
        ev += ctx.cfg_evidence(enc)
    steps = []
    if row.get("origin") in ("gpresult", "security-option"):
        steps.append("The option comes from Group Policy"
                     + (f' "{row["gpo"]}"' if row.get("gpo") else "")
                     + ": Computer Configuration > Windows Settings > Security Settings > Local "
                     "Policies > Security Options > \"System cryptography: Use FIPS compliant "
                     "algorithms…\" — disable it there if FIPS is not a requirement.")
    steps.append("Otherwise make sure every client supports FIPS-compliant RDP (RDC 6.0 or later) "
                  "— older clients fail.")
    if ctx.os() == "2003":
        steps.append("Locally (2003): HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\"
                     "FIPSAlgorithmPolicy = 0 (secpol.msc).")
    else:
        steps.append("Locally: secpol.msc, or HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\"
                     "FipsAlgorithmPolicy\\Enabled = 0.")
    return [ctx.finding(f"FIPS mode is on (set by {ctx.source_phrase(row)}): RDP uses FIPS "
                        f"encryption (level 4){said}", ev, steps)]


OVERRIDE_SETTINGS = ("SecurityLayer", "MinEncryptionLevel", "UserAuthentication",
                     "MaxInstanceCount", "fDenyTSConnections")


def _same_setting(name: str, a, b) -> bool:
    """Whether two values of a setting mean the same (the policy's 999999 and the local
    0xFFFFFFFF both say "unlimited connections")."""
    a, b = _int(a), _int(b)
    if name == "MaxInstanceCount" and a in UNLIMITED and b in UNLIMITED:
        return True
    return a == b


@detector(id="policy-overrides-local", severity="info",
          title="Group Policy overrides the local RDP settings",
          inputs=("reg", "gpresult"), references=("KB2477023",))
def policy_overrides_local(ctx: Context):
    """A Group Policy value differs from the local RDP-Tcp value, and the policy wins.

    For ``SecurityLayer``, ``MinEncryptionLevel``, ``UserAuthentication``,
    ``MaxInstanceCount`` and ``fDenyTSConnections`` a policy (gpresult or the POL registry
    key) sets a value different from the local Terminal Server / RDP-Tcp value. Changing the
    local value in tscc.msc or the registry has no effect until the GPO is changed — a
    frequent reason why "the fix did not work". References: KB2477023 part 3.
    """
    if not (ctx.has("reg") and ctx.has("gpresult")) and not any(
            (ctx.setting(n) or {}).get("origin") in ("gpresult", "policy") for n in OVERRIDE_SETTINGS):
        return ctx.not_evaluated(*[n for n in ("reg", "gpresult") if not ctx.has(n)])
    diffs, ev = [], []
    for name in OVERRIDE_SETTINGS:
        row = ctx.setting(name)
        if row is None or row.get("origin") not in ("gpresult", "policy"):
            continue
        for o in row.get("overridden") or []:
            if isinstance(o, dict) and o.get("origin") == "local" \
                    and not _same_setting(name, o.get("value"), row.get("value")):
                diffs.append(f"{name}: policy {row.get('display') or row.get('value')} over local "
                             f"{o.get('display') or o.get('value')}"
                             + (f' (GPO "{row["gpo"]}")' if row.get("gpo") else ""))
                ev += ctx.cfg_evidence(row)
                break
    if not diffs:
        decided = [n for n in OVERRIDE_SETTINGS
                   if (ctx.setting(n) or {}).get("origin") in ("gpresult", "policy")]
        unknown = [n for n in decided if not any(
            isinstance(o, dict) and o.get("origin") == "local"
            for o in ctx.setting(n).get("overridden") or [])]
        if unknown and not ctx.ts_key_exported():
            # the policy is known, the local value it would override is not
            return ctx.not_evaluated("reg", note="policy sets " + ", ".join(unknown)
                                     + "; the local values to compare are not in the bundle")
        return []
    return [ctx.finding("; ".join(diffs), ev,
                        ["Change these settings in the GPO named (gpresult shows the winning GPO), "
                         "not locally; then `gpupdate /force`.",
                         "Confirm with `gpresult /h report.html` that the new value wins."],
                        details={"settings": [d.split(":")[0] for d in diffs]})]


@detector(id="nla-required", severity="info",
          title="Network Level Authentication is required",
          inputs=("reg", "gpresult"), references=("KB2477023",))
def nla_required(ctx: Context):
    """Network Level Authentication (CredSSP) is required before a session is created.

    The effective ``UserAuthentication`` is 1. Clients without CredSSP/NLA support (old RDC,
    some thin clients, Linux clients without it), users whose password expired or must be
    changed, and CredSSP patch mismatches ("encryption oracle remediation") fail before a
    session exists, and the failure shows as a type-3 logon failure. References: KB2477023.
    """
    if ctx.os() == "2003":
        return []                       # Windows Server 2003 has no NLA: nothing to require
    row = ctx.setting("UserAuthentication")
    if row is None:
        if ctx.has("reg"):              # the export is here but says nothing: only policy can
            return ctx.not_evaluated("gpresult", note="the registry export has no "
                                     "UserAuthentication value")
        return ctx.not_evaluated("reg", "gpresult")
    if _int(row["value"]) != 1:
        return []
    steps = ["Make sure clients support NLA (RDC 6.1+ / CredSSP) and that users' "
             "passwords are not expired (NLA cannot change them).",
             "Check CredSSP patch levels on both ends (AllowEncryptionOracle)."]
    gp = _gp_step(row, ctx, "Require user authentication for remote connections by using "
                  "Network Level Authentication")
    if gp:
        # policy decides: the local box is greyed out and a local change is overwritten, so
        # the GPO is where NLA is relaxed — said first (found by review)
        steps.insert(0, "If NLA has to be relaxed: " + gp[0].lower() + gp[1:])
    else:
        steps.append("Only if needed: untick \"Allow connections only from computers running "
                     "Remote Desktop with Network Level Authentication\".")
    return [ctx.finding(f"UserAuthentication = 1 (NLA required), set by {ctx.source_phrase(row)}",
                        ctx.cfg_evidence(row), steps)]


SNP_VALUES = ("EnableTCPChimney", "EnableRSS", "EnableTCPA")


def _snp_by_default(ctx: Context):
    """2003 with ``Tcpip\\Parameters`` exported but none of the SNP values in it: SP2 turns
    the features on by default, KB948496 off (KNOWLEDGE.md G32) — the service pack and the
    hotfix list of ``systeminfo`` decide."""
    si = ctx.etype("sysinfo:host")
    d = tl.data_of(si.iloc[-1]) if len(si) else {}
    sp, fixes = d.get("service_pack"), [str(h) for h in d.get("hotfixes") or []]
    if sp is not None and sp < 2:
        return []                       # before SP2 the pack is not there by default
    if any("948496" in h for h in fixes):
        return []
    if sp is None or (not fixes and d.get("hotfix_count") != 0):
        return ctx.not_evaluated("systeminfo", note="no SNP value in Tcpip\\Parameters: on "
                                 "2003 SP2 that means enabled unless KB948496 is installed — "
                                 "the service pack or the hotfix list is unknown")
    src = str(si.iloc[-1]["source"])
    return [ctx.finding(
        "EnableTCPChimney, EnableRSS and EnableTCPA are absent from Tcpip\\Parameters on "
        f"Windows Server 2003 SP{sp} without KB948496 ({len(fixes)} hotfixes listed): the "
        "Scalable Networking Pack features are on by default",
        [Evidence(source=src, locator=str(si.iloc[-1]["locator"]),
                  excerpt=f"SP{sp}; hotfixes: {', '.join(fixes[:6])}"
                          + (" …" if len(fixes) > 6 else ""))],
        ["Install KB948496 (turns the features off), or set EnableTCPChimney, EnableRSS and "
         "EnableTCPA to 0 under HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters "
         "(`netsh int ip set chimney DISABLED`).",
         "Reboot, then retry the RDP connection."],
        details={"values": [], "default": True})]


@detector(id="snp-features-enabled", severity="warning",
          title="Scalable Networking Pack features enabled on Windows Server 2003",
          inputs=("tcpip-reg", "systeminfo"), references=("KB2477023", "KB948496"))
def snp_features_enabled(ctx: Context):
    """TCP Chimney offload, RSS or NetDMA is on on Windows Server 2003 SP2.

    ``Tcpip\\Parameters`` ``EnableTCPChimney``, ``EnableRSS`` or ``EnableTCPA`` is 1. On
    Windows Server 2003 SP2 the Scalable Networking Pack features with some NIC drivers make
    RDP "busy" or unable to connect; KB948496 turns them off. They only matter on 2003 — on
    2008+ the same names mean something else and are not reported. Values absent on 2003
    SP2 mean enabled unless ``systeminfo`` lists KB948496. References: KB2477023
    part 3, KB948496.
    """
    if ctx.os() == "2008+":
        # SNP's "RDP busy" problem is a 2003 SP2 one; a bare "pass" read as "TCP Chimney,
        # RSS and NetDMA are off", which nothing showed (review)
        return Passed("not applicable: a Windows Server 2003 SP2 problem; this host runs "
                      "2008 or later")
    rows = [(n, ctx.setting(n)) for n in SNP_VALUES]
    present = [(n, r) for n, r in rows if r is not None]
    if not present and ctx.has("tcpip-reg") and ctx.os() == "2003":
        return _snp_by_default(ctx)
    if not present:
        return ctx.not_evaluated("tcpip-reg")
    on = [(n, r) for n, r in present if _int(r["value"]) == 1]
    if not on:
        return []
    gen = ctx.os()
    if gen is None:
        return ctx.not_evaluated("systeminfo", note="SNP flags are on, but only matter on 2003: "
                                 "the Windows version is unknown")
    if gen != "2003":
        return []
    ev = []
    for _, r in on:
        ev += ctx.cfg_evidence(r)
    return [ctx.finding(
        ", ".join(f"{n} = 1" for n, _ in on) + " on Windows Server 2003 (Scalable Networking Pack)",
        ev,
        ["Install KB948496 (or set the values to 0): `netsh int ip set chimney DISABLED`, and "
         "reg add HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters /v EnableRSS /t "
         "REG_DWORD /d 0 /f (likewise EnableTCPChimney, EnableTCPA).",
         "Reboot, then retry the RDP connection.",
         "Update the NIC driver; re-enable the features only if the vendor supports them."],
        details={"values": [n for n, _ in on]})]
