"""Certificate and licensing detectors: TLS certificate, the proprietary TS certificate, CALs.

Windows Server 2003 keeps the Terminal Server proprietary certificate in
``Services\\TermService\\Parameters`` (``Certificate``, ``X509 Certificate``,
``X509 Certificate ID``); 2008 and later keep it in ``Terminal Server\\RCM``. When it is
damaged the RDP security layer fails (TermDD 50, "X.224") at the same time as licensing
(TermService 1004/1008/1010) — the article's "certificate corruption" signature.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import Context, detector, when
from .attacks import NO_ADDRESS, client_keys, logon_link, minutes_text, tcp_connections

#: Licensing events that, next to TermDD 50, form the certificate-corruption signature.
CORRUPTION_PARTNERS = (
    "sys:termservice:license-issue-failed", "sys:termservice:grace-expired",
    "sys:termservice:license-server-unreachable", "sys:tslicensing:placement-error",
    "rdp:rcm:licensing:cert-invalid",
)
CERT_VALUES = ("Certificate", "X509 Certificate", "X509 Certificate ID", "X509 Certificate2")


def _need_events(ctx: Context):
    """Licensing events are TermService's in System on 2003 (and 2008/2008 R2, where RCM
    writes them there too), RemoteConnectionManager's Admin log's from 2012 on: a session
    manager's or RdpCoreTS log — or a 2012+ System log — cannot show them absent."""
    held, ask = ctx.rcm_events_held()
    return None if held else ctx.not_evaluated(ask)


def cert_key(ctx: Context) -> str:
    """Where the proprietary certificate values live on this host's Windows version."""
    if ctx.os() == "2003":
        return "HKLM\\SYSTEM\\CurrentControlSet\\Services\\TermService\\Parameters"
    return "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM"


def _corruption_steps(ctx: Context, key: str) -> list[str]:
    """What Microsoft says to do, per Windows version. 2003 (KB2477023 "You may have a
    certificate corruption"): delete three values under TermService\\Parameters, restart the
    server, reactivate the license server by the Telephone connection method. 2008 and later
    (MicrosoftDocs windowsserverdocs, troubleshoot/rdp-error-no-licenses-available.md,
    "Refresh the X509 Certificate registry keys"): delete four values under Terminal
    Server\\RCM — ``X509 Certificate2`` as well — and restart the RDSH server."""
    legacy = ctx.os() == "2003"
    names = CERT_VALUES[:3] if legacy else CERT_VALUES
    vals = ", ".join(f"`{v}`" for v in names[:-1]) + f" and `{names[-1]}`"
    steps = [f"Back up the key: `reg export \"{key}\" termcert-backup.reg`.",
             f"Delete the values {vals} under {key} (leave the key itself)."]
    if legacy:
        return steps + [
            "Restart the server (Terminal Services regenerates the certificate at start).",
            "Reactivate the Terminal Server License Server by the Telephone connection method "
            "of the Licensing Wizard (licmgr.exe: server Properties > connection method "
            "Telephone, then Advanced > Reactivate Server)."]
    return steps + [
        "Restart the server (restarting the Remote Desktop Services service is not enough; "
        "the certificate is regenerated when the server starts).",
        "Reactivate the RD license server if licensing still fails (RD Licensing Manager, "
        "licmgr.exe > right-click the server > Advanced > Reactivate Server)."]


@detector(id="certificate-corruption", severity="critical",
          title="The Terminal Server certificate is corrupted",
          inputs=("system", "reg"), references=("KB2477023", "KB329896", "KB2477176"))
def certificate_corruption(ctx: Context):
    """The Terminal Server's proprietary (X.509) certificate is damaged.

    TermDD 50 (an RDP protocol component — typically "X.224" — detected an error and dropped
    the client) occurs together, within a short window, with licensing errors TermService
    1004 / 1008 (printed 1088 in the article) / 1010 or TermServLicensing 28, repeatedly
    (at least two TermDD 50: one is a scanner's probe): the security
    layer cannot use the certificate that also signs licenses. Fix: back up and delete the
    ``Certificate``, ``X509 Certificate`` and ``X509 Certificate ID`` values under
    TermService\\Parameters on 2003 — and ``X509 Certificate2`` too under Terminal
    Server\\RCM on 2008+ —, restart the server so they are regenerated, and reactivate
    licensing (on 2003 by the Telephone method). References: KB2477023 part 4, KB329896,
    KB2477176.
    """
    if not ctx.has("system"):           # TermDD 50 and the licensing events are System's
        return ctx.not_evaluated("system")
    t50 = ctx.etype("sys:termdd:protocol-error")
    partners = ctx.etype(*CORRUPTION_PARTNERS)
    if not len(t50) or not len(partners):
        return []
    win = pd.Timedelta(hours=float(ctx.param("certificate_cluster_hours")))
    pt = partners["time"].dropna().sort_values()
    near50 = []
    for idx, t in t50["time"].items():
        if pd.isna(t):
            continue
        if ((pt >= t - win) & (pt <= t + win)).any():
            near50.append(idx)
    # the signature repeats (clients keep failing); one TermDD 50 — a scanner's probe —
    # next to a licensing problem is the licensing problem alone
    if len(near50) < int(ctx.param("certificate_min_termdd50")):
        return []
    c50 = t50.loc[near50]
    t0, t1 = c50["time"].min() - win, c50["time"].max() + win
    cp = partners[(partners["time"] >= t0) & (partners["time"] <= t1)]
    from .. import timeline as tl

    comps = tl.fields(c50, "param2", "component")
    comp = sorted({str(a or b) for a, b in zip(comps["param2"], comps["component"]) if (a or b)})
    comp_txt = f" (component {', '.join(comp)})" if comp else ""
    ids = sorted({int(e) for e in cp["event_id"].dropna()})
    key = cert_key(ctx)
    present = ctx.setting("CertificateValues")
    ev = ctx.evidence(c50.head(6)) + ctx.evidence(cp.head(6)) + ctx.cfg_evidence(present)
    steps = _corruption_steps(ctx, key)
    return [ctx.finding(
        f"{len(c50)} TermDD 50 protocol error(s){comp_txt} together with licensing event(s) "
        f"{', '.join(map(str, ids))} between {when(c50['time'].min())} and "
        f"{when(c50['time'].max())}",
        ev, steps, total=len(c50) + len(cp),
        details={"termdd50": len(c50), "licensing_ids": ids, "key": key})]


#: Schannel's TLS server-credential errors. System-wide: IIS, LDAPS, SQL Server, WinRM over
#: HTTPS, AD FS raise them as well, and the message names no service (KNOWLEDGE E19, E22).
SCHANNEL_KEY = ("tls:schannel:private-key", "tls:schannel:no-private-key",
                "tls:schannel:credential-error")
#: RemoteConnectionManager's own certificate events (R08-R10): RDP's by definition
#: (2008/2008 R2 write them to System, also under the source TermService).
RCM_CERT = ("rdp:rcm:cert:unusable", "rdp:rcm:cert:expiring", "rdp:rcm:cert:expired",
            "rdp:rcm:cert:no-eku", "rdp:rcm:cert:private-key", "rdp:rcm:cert:self-signed-failed",
            "rdp:rcm:cert:replace-failed", "rdp:rcm:cert:config-reset")
#: RDP failing in its protocol / security phase: TermDD 56 / 50 (System), RdpCoreTS 139
#: (security-layer error for a client) and 97 (protocol component error).
RDP_FAILURES = ("sys:termdd:security-error", "sys:termdd:protocol-error",
                "rdp:core:security-error", "rdp:core:protocol-error")
#: RDP connection attempts: RdpCoreTS 131 (TCP), RCM 261 (listener received a connection),
#: RCM 1158 (accepted a connection from an address).
RDP_CONNECTS = ("rdp:core:connection-accepted", "rdp:rcm:connection-received",
                "rdp:rcm:connection-accepted")
def rdp_tie(ctx: Context) -> pd.Timedelta:
    """How near (either side) RDP must fail for a Schannel error to be counted as RDP's
    (``[params] tls_rdp_tie_minutes``, default 5): the TLS handshake fails within a second
    of the connection; minutes allow for clock skew between logs and for TermDD's
    disconnect. (How long after a connection a logon still says it worked:
    :func:`.attacks.logon_link`.)"""
    return pd.Timedelta(minutes=float(ctx.param("tls_rdp_tie_minutes")))


def _failed_connections(ctx: Context, near: pd.Series) -> pd.DataFrame:
    """RDP connection attempts within :func:`rdp_tie` of one of the times ``near`` (the
    Schannel errors: no other connection can tie one) that no logon followed (RCM 1149, LSM
    21/25, 4624 type 10 within :func:`.attacks.logon_link`; from the same address when both
    rows carry one). The look-up below is per connection: an internet-facing server logs tens of
    thousands of them, a handful lie beside a Schannel error."""
    conns = ctx.etype(*RDP_CONNECTS)
    if not len(conns):
        return conns
    conns = conns[_near(conns["time"], near, rdp_tie(ctx))]
    conns = tcp_connections(conns)            # (a UDP side channel is no new connection)
    if not (ctx.has("security") or ctx.has_log("remoteconnectionmanager", "operational")
            or ctx.has_log("localsessionmanager")):
        # no log that records a logon: "no logon followed" would say nothing, and every
        # connection would tie any other service's Schannel error to RDP (found by review)
        return conns.iloc[0:0]
    logons = ctx.etype("rdp:rcm:auth-success", "rdp:lsm:logon", "rdp:lsm:reconnect")
    ok = ctx.etype("sec:logon:success")
    if len(ok):
        ok = ok[ok["data"].astype("string").str.contains(r'"LogonType":"?10\b', regex=True)
                .fillna(False).to_numpy(dtype=bool)]
    lg = pd.concat([logons[["time", "ip"]], ok[["time", "ip"]]])
    lg = lg[lg["time"].notna()]
    if not len(lg):
        return conns
    lt = lg["time"].to_numpy(dtype="datetime64[us]")
    # (compared as clients: a 4624's ::ffff:203.0.113.5 is a 131's 203.0.113.5)
    lip = client_keys(lg["ip"]).to_numpy()
    link = np.timedelta64(int(logon_link(ctx).total_seconds() * 1_000_000), "us")
    failed = []
    for t, ip in zip(conns["time"].to_numpy(dtype="datetime64[us]",
                                            na_value=np.datetime64("NaT")),
                     client_keys(conns["ip"]).to_numpy()):
        if np.isnat(t):
            failed.append(False)
            continue
        after = (lt >= t) & (lt <= t + link)
        if ip != NO_ADDRESS:
            after &= (lip == ip) | (lip == NO_ADDRESS)
        failed.append(not after.any())
    return conns[np.asarray(failed, dtype=bool)]


def _short(provider: str) -> str:
    """``RdpCoreTS`` / ``RCM`` / ``TermDD`` for a finding's text."""
    low = provider.lower()
    if low.endswith("rdpcorets"):
        return "RdpCoreTS"
    if low.endswith("remoteconnectionmanager"):
        return "RCM"
    return provider


def _near(times: pd.Series, marks: pd.Series, window: pd.Timedelta) -> np.ndarray:
    """For each of ``times``: whether one of ``marks`` lies within ``window`` of it."""
    m = np.sort(marks.dropna().to_numpy(dtype="datetime64[us]"))
    t = times.to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT"))
    if not len(m) or not len(t):
        return np.zeros(len(t), dtype=bool)
    w = np.timedelta64(int(window.total_seconds() * 1_000_000), "us")
    lo = np.searchsorted(m, t - w, side="left")
    hi = np.searchsorted(m, t + w, side="right")
    return (hi > lo) & ~np.isnat(t)


def _tls_steps(ctx: Context) -> list[str]:
    """How to check and repair the RDP TLS certificate on this host's Windows version."""
    nt = ctx.nt_version()
    if ctx.os() == "2003":
        # 2003 SP1's SSL layer: no self-signed fallback, "you must obtain a certificate"
        # (KB895433); the certificate is chosen in tscc.msc > RDP-Tcp > General (KB2477023,
        # step 6); TermService runs as LocalSystem (termsrv.dll 5.2 message table)
        return ["Open tscc.msc > Connections > RDP-Tcp > Properties > General > Certificate "
                "(Edit > View Certificate): it must not be expired, must say \"You have a "
                "private key that corresponds to this certificate\", carry the Server "
                "Authentication EKU and name this server. Windows Server 2003 has no "
                "self-signed fallback: the SSL layer needs such a certificate in the "
                "computer's Personal store (mmc > Certificates > Computer account).",
                "Terminal Services runs as LocalSystem on 2003: SYSTEM must be able to read "
                "the private key — check the permissions of C:\\Documents and Settings\\All "
                "Users\\Application Data\\Microsoft\\Crypto\\RSA\\MachineKeys (SYSTEM and "
                "Administrators: Full Control).",
                "Until a valid certificate is installed, set Security layer to RDP Security "
                "Layer on that tab: clients connect again, without server authentication."]
    if nt is not None and nt < 6.2:
        return ["Open mmc > Add/Remove Snap-in > Certificates > Computer account: the Remote "
                "Desktop store holds the self-signed certificate, Personal a configured one. "
                "The certificate selected in tsconfig.msc > RDP-Tcp > Properties > General > "
                "Certificate must not be expired, must have a private key and the Server "
                "Authentication EKU.",
                "Give NETWORK SERVICE read access to its private key (right-click > All Tasks > "
                "Manage Private Keys), or check the permissions of "
                "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys.",
                "If the selected certificate is gone (SSLCertificateSHA1Hash names a missing "
                "one), select another in tsconfig.msc > RDP-Tcp > General, or Default to fall "
                "back to the self-signed certificate, then restart Remote Desktop Services."]
    # certlm.msc came with Windows 8 / Server 2012; tsconfig.msc went with it
    store = ("certlm.msc" if nt is not None else
             "certlm.msc (2012 and later; on 2008/2008 R2 mmc > Certificates > Computer account)")
    return [f"Open {store} > Remote Desktop (self-signed) or Personal (configured) and check the "
            "RDP certificate: not expired, has a private key, Server Authentication EKU.",
            "Give NETWORK SERVICE read access to its private key (All Tasks > Manage Private "
            "Keys), or check C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys permissions.",
            "If SSLCertificateSHA1Hash points to a missing certificate, delete the value to fall "
            "back to the self-signed certificate, or set a valid thumbprint (`wmic /namespace:"
            "\\\\root\\cimv2\\TerminalServices PATH Win32_TSGeneralSetting Set "
            "SSLCertificateSHA1Hash=\"<thumbprint>\"`; in an RDS deployment Server Manager > "
            "Remote Desktop Services > Deployment Properties > Certificates), then restart "
            "Remote Desktop Services."]


def _which_service_steps(ctx: Context) -> list[str]:
    """How to tell whose TLS credential Schannel could not use."""
    legacy = ctx.os() == "2003"
    rdp = ("tscc.msc > RDP-Tcp > General > Certificate" if legacy else
           "`wmic /namespace:\\\\root\\cimv2\\TerminalServices PATH Win32_TSGeneralSetting "
           "get SSLCertificateSHA1Hash`")
    iis = "`httpcfg query ssl` (Support Tools)" if legacy else "`netsh http show sslcert`"
    return ["Schannel names no service: find whose certificate it is. Compare the RDP "
            f"certificate ({rdp}) with the certificates of the other TLS services of this "
            f"host — IIS / HTTP.sys ({iis}), LDAPS on a domain controller, SQL Server, WinRM "
            "over HTTPS, AD FS — and check which of them has no usable private key.",
            "Check whether RDP fails when these errors are logged: a client connecting then "
            "gets a security error, and "
            + ("TermDD 50/56 in the System log show the dropped connection at the same minute."
               if legacy else
               "TermDD 50/56 (System) or the RemoteConnectionManager / RdpCoreTS logs show "
               "the failed connection at the same minute.")]


@detector(id="tls-certificate-problem", severity="error",
          title="The RDP TLS certificate or its private key is unusable",
          inputs=("system", "rcm-log", "reg"),
          references=("KB2477023", "KB895433", "Schannel 36870"))
def tls_certificate_problem(ctx: Context):
    """The certificate the RDP listener uses for TLS cannot be used.

    RemoteConnectionManager 1051–1059 (configured certificate unusable, expired, no Server
    Authentication EKU, private key inaccessible, self-signed certificate could not be
    created or replaced, certificate configuration reset), an SSL security layer whose
    configuration RCM had to auto-correct (1050), or Schannel 36870 (fatal error accessing
    the private key), 36869 (no private key attached) or 36871 (credential creation failed)
    *with RDP failing beside it*: TermDD 50/56, RdpCoreTS 139/97, an RDP connection no logon
    followed, or RCM's certificate events, within minutes (``[params]
    tls_rdp_tie_minutes``, 5; a logon within ``connection_logon_link_minutes``, 5, of a
    connection says it worked). TLS handshakes fail and clients
    report a security error. Schannel's errors are system-wide (IIS, LDAPS, SQL Server, WinRM
    and AD FS raise them too) and name no service: alone they are a warning that some TLS
    server credential of the host is unusable. RCM 1052 alone (about to expire) is a
    warning: the certificate still works. References: KB2477023 part 3, KB895433 (2003: no
    self-signed fallback), Schannel 36870 (KNOWLEDGE.md E19, E22).
    """
    rcm = ctx.etype(*RCM_CERT)
    sl = ctx.setting("SecurityLayer")
    auto = ctx.etype("rdp:rcm:security-autocorrected")
    if sl is not None and str(sl.get("value")) == "2" and len(auto):
        rcm = pd.concat([rcm, auto]).sort_values("time")
    sch = ctx.etype(*SCHANNEL_KEY)
    if not len(rcm) and not len(sch):
        # Schannel writes to System; RCM's certificate events are System's on 2003-2008 R2
        # but only in the RCM logs from 2012 on: a System log alone cannot show them absent
        held, ask = ctx.rcm_events_held()
        need = [n for n, ok in (("system", ctx.has("system")), (ask, held)) if not ok]
        if need:
            return ctx.not_evaluated(
                *dict.fromkeys(need),
                note=("" if "system" in need else
                      "Schannel shows no key error in System; RemoteConnectionManager writes "
                      "its certificate events (1051-1059) to its own logs on this version"))
        return []
    # RDP failing beside a Schannel error ties it to RDP — and so do RCM's own certificate
    # events at the same time
    failing = pd.concat([ctx.etype(*RDP_FAILURES), rcm]
                        + ([_failed_connections(ctx, sch["time"])] if len(sch) else []))
    tie = rdp_tie(ctx)
    tied_mask = _near(sch["time"], failing["time"], tie) if len(sch) else np.array([], bool)
    tied = sch[tied_mask]
    rows = pd.concat([rcm, tied]).sort_values("time") if len(tied) else rcm
    if len(rows):
        counts = rows.groupby(rows["provider"].astype(str) + " " + rows["event_id"].astype(str),
                              observed=True).size().sort_values(ascending=False)
        what = ", ".join(f"{k} ×{v}" for k, v in counts.items())
        thumb = ctx.setting("SSLCertificateSHA1Hash")
        why = []
        if len(tied):
            near = failing[_near(failing["time"], tied["time"], tie)].sort_values("time")
            kinds = sorted({f"{_short(p)} {int(e)}" for p, e in zip(near["provider"].astype(str),
                                                              near["event_id"])
                            if not pd.isna(e)})
            why.append(f"the Schannel errors come with RDP failing within "
                       f"{minutes_text(tie)} min ({', '.join(kinds)})")
            ev_rdp = ctx.evidence(near.head(4))
        else:
            ev_rdp = []
        untied = len(sch) - len(tied)
        if untied:
            why.append(f"{untied} other Schannel error(s) without RDP failing beside them "
                       "are left out")
        ev = ctx.evidence(rows.tail(ctx.param("evidence_rows"))) + ev_rdp \
            + ctx.cfg_evidence(thumb)
        # RCM 1052 alone: the certificate is about to expire — it still works today
        expiring_only = set(rows["event_type"].astype(str)) == {"rdp:rcm:cert:expiring"}
        return [ctx.finding(f"{len(rows)} certificate/TLS error event(s): {what}"
                            + ("; " + "; ".join(why) if why else "")
                            + (" — the certificate still works until it expires"
                               if expiring_only else ""),
                            ev, _tls_steps(ctx), total=len(rows),
                            severity="warning" if expiring_only else None,
                            details={"schannel_tied_to_rdp": int(len(tied)),
                                     "schannel_untied": int(untied)})]
    # Schannel alone: some TLS server credential of this host is unusable — maybe not RDP's
    counts = sch.groupby(sch["provider"].astype(str) + " " + sch["event_id"].astype(str),
                         observed=True).size().sort_values(ascending=False)
    what = ", ".join(f"{k} ×{v}" for k, v in counts.items())
    notes = []
    logons = ctx.etype("rdp:rcm:auth-success", "rdp:lsm:logon", "rdp:lsm:reconnect")
    t0, t1 = sch["time"].min(), sch["time"].max()
    if len(logons) and not pd.isna(t0):
        later = logons[logons["time"] >= t0]
        if len(later):
            notes.append(f"RDP logons succeeded after the first of them ({len(later)}, last at "
                         f"{when(later['time'].max())})")
    if not (ctx.has("rcm-log") or ctx.has("rdpcorets-log")) and ctx.os() != "2003":
        notes.append("the bundle holds no RemoteConnectionManager / RdpCoreTS log to show RDP "
                     "connections at those times")
    summary = (f"{len(sch)} Schannel TLS server-credential error(s): {what}, between "
               f"{when(t0)} and {when(t1)}; nothing in the bundle shows RDP failing beside "
               "them — the credential may belong to another service (IIS, LDAPS, SQL Server, "
               "WinRM, AD FS)" + ("; " + "; ".join(notes) if notes else ""))
    ev = ctx.evidence(sch.tail(ctx.param("evidence_rows"))) \
        + ctx.cfg_evidence(ctx.setting("SSLCertificateSHA1Hash"))
    steps = _which_service_steps(ctx) + [f"If it is RDP's: {s[0].lower()}{s[1:]}"
                                         for s in _tls_steps(ctx)[:1]] + _tls_steps(ctx)[1:]
    return [ctx.finding(summary, ev, steps, total=len(sch), severity="warning",
                        title="A TLS server certificate on this host is unusable "
                              "(maybe not RDP's)",
                        details={"schannel_tied_to_rdp": 0, "schannel_untied": int(len(sch))})]


def _licensing(ctx: Context, types: tuple[str, ...], what: str, steps: list[str]):
    rows = ctx.etype(*types)
    if not len(rows):
        ne = _need_events(ctx)
        return [] if ne is None else ne
    ids = sorted({f"{p} {int(e)}" for p, e in zip(rows["provider"].astype(str), rows["event_id"])
                  if not pd.isna(e)})
    return [ctx.finding(f"{len(rows)} event(s) — {what} ({'; '.join(ids)}), last at "
                        f"{when(rows['time'].max())}", ctx.evidence(rows.tail(ctx.param("evidence_rows"))),
                        steps, total=len(rows))]


def _license_server_2003(ctx: Context) -> list[str]:
    """2003: tscc.msc > Server Settings > Licensing sets only the licensing *mode* (TechNet
    cc784315); a license server is named by a subkey of TermService\\Parameters\\
    LicenseServers (KB279561, KB301932 "License server discovery"), which SP1's "License
    Server Discovery Mode" node writes, or by the SP1 policy "Use the specified Terminal
    Server license servers"."""
    known = ctx.setting("LicenseServers")
    named = (f" The bundle names {', '.join(map(str, known['value']))} "
             f"({ctx.source_phrase(known)}): check that it is reachable and activated."
             if known and isinstance(known.get("value"), list) and known["value"] else "")
    return ["Install and activate a Terminal Server License Server (Add/Remove Windows "
            "Components > Terminal Server Licensing) and install CALs of the licensing mode's "
            "type (tscc.msc > Server Settings > Licensing: Per Device or Per User).",
            "Name the license server: tscc.msc > Server Settings > License Server Discovery "
            "Mode > Use these license servers (SP1 and later), the policy \"Use the specified "
            "Terminal Server license servers\", or a subkey named after the server under "
            "HKLM\\SYSTEM\\CurrentControlSet\\Services\\TermService\\Parameters\\"
            "LicenseServers (KB279561)." + named]


@detector(id="licensing-grace-expired", severity="critical",
          title="The Terminal Services licensing grace period has expired",
          inputs=("system", "rcm-log"), references=("KB2477023", "KB329896"))
def licensing_grace_expired(ctx: Context):
    """The licensing grace period is over and no license server issues licenses.

    TermService 1008 (the article prints 1088 — both are matched), RemoteConnectionManager
    1128 (grace period expired, not registered with a license server) or 1069 (grace period
    expired and licensing mode not configured). Only administrators (console/admin sessions)
    can still connect. References: KB2477023 part 4, KB329896.
    """
    os_steps = (_license_server_2003(ctx) if ctx.os() == "2003" else
                ["Configure the licensing mode and license server: policy \"Set the Remote "
                 "Desktop licensing mode\" and \"Use the specified Remote Desktop license "
                 "servers\" (or Server Manager > RDS > Deployment properties).",
                 "Make sure the license server is activated and has CALs of the matching type."])
    return _licensing(ctx, ("sys:termservice:grace-expired", "rdp:rcm:licensing:grace-expired"),
                      "licensing grace period expired",
                      os_steps + ["Run the RD Licensing Diagnoser (lsdiag.msc) on 2008+."])


@detector(id="license-server-unreachable", severity="error",
          title="No Terminal Services license server can be reached",
          inputs=("system", "rcm-log"), references=("KB2477023", "KB329896"))
def license_server_unreachable(ctx: Context):
    """The session host cannot find or contact a license server.

    TermService 1010 (could not locate a license server), RemoteConnectionManager 1130 (no
    license server specified) or 1131 (could not contact the license server). While the grace
    period lasts users still connect; afterwards they are refused. References: KB2477023
    part 4, KB329896.
    """
    return _licensing(ctx, ("sys:termservice:license-server-unreachable",
                            "rdp:rcm:licensing:no-server", "rdp:rcm:licensing:server-unreachable"),
                      "license server not found or unreachable",
                      ["Specify the license server explicitly (policy \"Use the specified Remote "
                       "Desktop license servers\" / 2003: LicenseServers registry key).",
                       "Check name resolution and that TCP 135 and dynamic RPC ports to the "
                       "license server are open.",
                       "On the license server, the session host must be in the \"Terminal Server "
                       "Computers\" / \"RDS Endpoint Servers\" group."])


@detector(id="license-issue-failed", severity="error",
          title="The server cannot issue a client license",
          inputs=("system", "rcm-log"), references=("KB2477023", "KB329896"))
def license_issue_failed(ctx: Context):
    """The session host could not issue or renew a client access license.

    TermService 1004 (cannot issue a client license) or RemoteConnectionManager 1004 / 1028
    (license could not be issued / renewed). Clients are disconnected during the licensing
    phase. References: KB2477023 part 4, KB329896.
    """
    return _licensing(ctx, ("sys:termservice:license-issue-failed", "rdp:rcm:licensing:issue-failed",
                            "rdp:rcm:licensing:renew-failed"),
                      "client license could not be issued",
                      ["Check that the license server has CALs of the right type (per user / per "
                       "device) and is activated.",
                       "On the client, delete the cached license (HKLM\\SOFTWARE\\Microsoft\\"
                       "MSLicensing) and retry as administrator.",
                       "If TermDD 50 errors accompany these events, see certificate-corruption."])
