"""Certificate and licensing detectors: TLS certificate, the proprietary TS certificate, CALs.

Windows Server 2003 keeps the Terminal Server proprietary certificate in
``Services\\TermService\\Parameters`` (``Certificate``, ``X509 Certificate``,
``X509 Certificate ID``); 2008 and later keep it in ``Terminal Server\\RCM``. When it is
damaged the RDP security layer fails (TermDD 50, "X.224") at the same time as licensing
(TermService 1004/1008/1010) — the article's "certificate corruption" signature.
"""
from __future__ import annotations

import pandas as pd

from . import Context, detector, when

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


@detector(id="tls-certificate-problem", severity="error",
          title="The RDP TLS certificate or its private key is unusable",
          inputs=("system", "rcm-log", "reg"), references=("KB2477023", "Schannel 36870"))
def tls_certificate_problem(ctx: Context):
    """The certificate the RDP listener uses for TLS cannot be used.

    Schannel 36870 (fatal error accessing the private key), 36869 (no private key attached)
    or 36871 (credential creation failed), or RemoteConnectionManager 1051–1059 (configured
    certificate unusable, expired, no Server Authentication EKU, private key inaccessible,
    self-signed certificate could not be created or replaced, certificate configuration
    reset), or an SSL security layer whose configuration RCM had to auto-correct (1050).
    TLS handshakes fail and clients report a security error. RCM 1052 alone (about to
    expire) is a warning: the certificate still works. References: KB2477023 part 3,
    Schannel 36870 (KNOWLEDGE.md E19, E22).
    """
    rows = ctx.etype("tls:schannel:private-key", "tls:schannel:no-private-key",
                     "tls:schannel:credential-error", "rdp:rcm:cert:unusable",
                     "rdp:rcm:cert:expiring", "rdp:rcm:cert:expired", "rdp:rcm:cert:no-eku",
                     "rdp:rcm:cert:private-key", "rdp:rcm:cert:self-signed-failed",
                     "rdp:rcm:cert:replace-failed", "rdp:rcm:cert:config-reset")
    sl = ctx.setting("SecurityLayer")
    auto = ctx.etype("rdp:rcm:security-autocorrected")
    if sl is not None and str(sl.get("value")) == "2" and len(auto):
        rows = pd.concat([rows, auto]).sort_values("time")
    if not len(rows):
        # Schannel writes to the System log only: without it nothing shows the key unreadable
        return [] if ctx.has("system") else ctx.not_evaluated("system")
    counts = rows.groupby(rows["provider"].astype(str) + " " + rows["event_id"].astype(str),
                          observed=True).size().sort_values(ascending=False)
    what = ", ".join(f"{k} ×{v}" for k, v in counts.items())
    thumb = ctx.setting("SSLCertificateSHA1Hash")
    ev = ctx.evidence(rows.tail(ctx.param("evidence_rows"))) + ctx.cfg_evidence(thumb)
    steps = ["Open certlm.msc > Remote Desktop (self-signed) or Personal (configured) and check "
             "the RDP certificate: not expired, has a private key, Server Authentication EKU.",
             "Give NETWORK SERVICE read access to its private key (Manage Private Keys), or check "
             "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys permissions.",
             "If SSLCertificateSHA1Hash points to a missing certificate, delete the value to fall "
             "back to the self-signed certificate (or set a valid thumbprint), then restart "
             "Remote Desktop Services."]
    # RCM 1052 alone: the certificate is about to expire — it still works today
    expiring_only = set(rows["event_type"].astype(str)) == {"rdp:rcm:cert:expiring"}
    return [ctx.finding(f"{len(rows)} certificate/TLS error event(s): {what}"
                        + (" — the certificate still works until it expires" if expiring_only
                           else ""), ev, steps, total=len(rows),
                        severity="warning" if expiring_only else None)]


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
    os_steps = (["Install and activate a Terminal Server License Server (Add/Remove Windows "
                 "Components > Terminal Server Licensing), install CALs, and point the server at "
                 "it (tscc.msc > Server Settings > Licensing)."] if ctx.os() == "2003" else
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
