"""Certificate, licensing and protocol-error detectors against what Microsoft documents
(domain review items 2, 3, 4, 5, 6 and 10): tiny in-test timelines built with
tests/_detector_kit.py, and event logs written with the project's own writers."""
from __future__ import annotations

import pandas as pd

from _detector_kit import cfg, ev, run, sysinfo, timeline
from analyzer.bundle import Bundle
from analyzer.detectors import ROOT_CAUSES, NotEvaluated
from analyzer.engine import analyze_bundle

S2003 = sysinfo("Microsoft(R) Windows(R) Server 2003, Standard Edition",
                "5.2.3790 Service Pack 2 Build 3790")
S2008R2 = sysinfo("Microsoft Windows Server 2008 R2 Standard", "6.1.7601 Service Pack 1 Build 7601")
S2008 = sysinfo("Microsoft Windows Server 2008 Standard", "6.0.6002 Service Pack 2 Build 6002")
S2016 = sysinfo("Microsoft Windows Server 2016 Standard", "10.0.14393 N/A Build 14393")


def _bundle(rows, config=None) -> Bundle:
    b = Bundle(path="tiny.zip", timeline=timeline(rows), inventory=pd.DataFrame(
        columns=["source", "kind", "status", "host", "records", "warnings", "reason"]),
        warnings=[], hosts=["TS01"])
    b._config = config if config is not None else cfg()
    return b


# ----------------------------------------------------------------------------- item 5


def test_certificate_corruption_does_not_explain_the_tls_certificate_problem():
    """The proprietary certificate (TermService\\Parameters / RCM ``X509 Certificate*``) is
    not the TLS certificate: deleting its values does nothing for an unreadable TLS key, yet
    the report showed the TLS finding as explained by it (found by review, item 5)."""
    assert ("certificate-corruption", "tls-certificate-problem") not in ROOT_CAUSES
    x224 = {"param1": "\\Device\\Termdd", "param2": "X.224"}
    rows = [S2003, ev(0, "termdd", 50, kind="evt", data=x224),
            ev(1, "termservice", 1004, kind="evt"), ev(2, "termdd", 50, kind="evt", data=x224),
            ev(2.01, "schannel", 36870, kind="evt")]
    fs = {f.id: f for f in analyze_bundle(_bundle(rows)).report.findings}
    assert {"certificate-corruption", "tls-certificate-problem"} <= set(fs)
    assert fs["tls-certificate-problem"].explained_by is None
    assert "tls-certificate-problem" not in fs["certificate-corruption"].explains


# ----------------------------------------------------------------------------- item 6

X224 = {"param1": "\\Device\\Termdd", "param2": "X.224"}


def _corruption(si, kind="evtx"):
    return [si, ev(0, "termdd", 50, kind=kind, data=X224), ev(1, "termservice", 1004, kind=kind),
            ev(30, "termdd", 50, kind=kind, data=X224)]


def test_certificate_corruption_remedy_on_2008_and_later_deletes_four_values_and_restarts():
    """2008+: Microsoft deletes Certificate, X509 Certificate, X509 Certificate ID and
    X509 Certificate2 under Terminal Server\\RCM and restarts the RDSH server; the remedy
    deleted three and offered a service restart (found by review, item 6)."""
    for si in (S2008R2, S2016):
        r = run("certificate-corruption", _corruption(si))[0].remedy
        assert "`Certificate`, `X509 Certificate`, `X509 Certificate ID` and `X509 Certificate2` " \
               "under HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM" in r
        assert "Restart the server" in r and "Restart the Remote Desktop Services service" not in r
        assert "Telephone" not in r


def test_certificate_corruption_remedy_on_2003_reactivates_by_telephone():
    """KB2477023: 2003 deletes three values under TermService\\Parameters, restarts the server
    and reactivates the license server by the Telephone connection method."""
    r = run("certificate-corruption", _corruption(S2003, "evt"))[0].remedy
    assert "`Certificate`, `X509 Certificate` and `X509 Certificate ID` under " \
           "HKLM\\SYSTEM\\CurrentControlSet\\Services\\TermService\\Parameters" in r
    assert "X509 Certificate2" not in r
    assert "Restart the server" in r and "Telephone" in r
