"""Restricted Groups in ``gpresult /z`` / ``/v`` text: named in a warning, never guessed at.

``user-not-authorized`` reads Restricted Groups from ``gpresult /x`` (``gpo:restricted-group``
rows). No real /z or /v text showing an entry's members was found, so the text reader emits
no such rows; it names each entry's ``Groupname:`` (and the GPO of its block) in one warning
that asks for ``gpresult /x``. The layout below is built from real output:

* the header, the ``COMPUTER SETTINGS`` part, the section titles with their dashes and
  indentation, the ``GPO:`` / ``Policy:`` / ``Computer Setting:`` blocks of User Rights and
  the ``N/A`` of an empty section are those of a 2012 R2 domain controller's ``gpresult /z``
  posted on Microsoft Q&A ("Unable to bind or log into LDAP using specific credentials",
  https://learn.microsoft.com/en-us/answers/questions/149890/unable-to-bind-or-log-into-ldap-using-specific-cre),
  where Restricted Groups sits between Event Log Settings and System Services;
* an entry's ``Groupname: <name>`` line is what IBM/wincollect's
  ``WinCollect10/Powershell Scripts/ViewRestrictedGroups/CheckRestrictedGroups.ps1`` looks
  for in ``Gpresult /V /scope Computer`` (``Groupname: Administrators``, ``Groupname: Event
  Log Readers``) between "Restricted" and "System Services".

The ``GPO:`` line heading each entry follows every other security section of that real
report; an entry without one is named too.
"""
from __future__ import annotations

import pandas as pd

from analyzer import timeline as tl
from analyzer.bundle import Bundle
from analyzer.engine import analyze_bundle
from parsers import gpresult_text

from _detector_kit import HOST, ev, timeline

HEAD = """Microsoft (R) Windows (R) Operating System Group Policy Result tool v2.0
\u00a9 2013 Microsoft Corporation. All rights reserved.

Created on 3/5/2024 at 7:37:45 AM

RSOP data for CORP\\carol on TS01 : Logging Mode
-------------------------------------------------------

OS Configuration:            Member Server
OS Version:                  6.3.9600
Site Name:                   HQ
Roaming Profile:             N/A
Local Profile:               C:\\Users\\carol
Connected over a slow link?: No

COMPUTER SETTINGS
------------------
    CN=TS01,OU=Servers,DC=corp,DC=example
    Last time Group Policy was applied: 3/5/2024 at 7:33:05 AM
    Group Policy was applied from:      DC1.corp.example
    Group Policy slow link threshold:   500 kbps
    Domain Name:                        CORP
    Domain Type:                        Windows 2008 or later

    Applied Group Policy Objects
    -----------------------------
        RDS Access
        Default Domain Policy

    Resultant Set Of Policies for Computer
    ---------------------------------------

        User Rights
        -----------
            GPO: RDS Access
                Policy:            RemoteInteractiveLogonRight
                Computer Setting:  Administrators
                                   Remote Desktop Users

        Event Log Settings
        ------------------
            N/A

        Restricted Groups
        -----------------
"""
TAIL = """
        System Services
        ---------------
            N/A

        Registry Settings
        -----------------
            N/A
"""
ENTRIES = """            GPO: RDS Access
                Groupname: Remote Desktop Users

            GPO: Default Domain Policy
                Groupname: Administrators
"""


def report(entries: str) -> str:
    return HEAD + entries + TAIL


def parse(tmp_path, text: str):
    f = tmp_path / "TS01_gpresult_z.txt"
    f.write_text(text, encoding="utf-8")
    return gpresult_text.parse(f)


def rg_warnings(res) -> list:
    return [w for w in res.warnings if "Restricted Groups" in w.message]


def test_each_entry_is_named_with_its_gpo_in_one_warning(tmp_path):
    res = parse(tmp_path, report(ENTRIES))
    [w] = rg_warnings(res)
    line = report(ENTRIES).splitlines().index("                Groupname: Remote Desktop Users") + 1
    assert w.locator == f"line {line}"
    assert 'Remote Desktop Users [GPO "RDS Access"].' in w.message
    # Administrators (restricted in many domains) is no RDP question: not named
    assert "Administrators" not in w.message and "Default Domain Policy" not in w.message
    assert w.message.startswith("1 Restricted Groups entry for Remote Desktop Users: ")
    assert "gpresult /x" in w.message and "replaces the group's membership" in w.message
    # no row is made of what the reader cannot see: the members
    assert "gpo:restricted-group" not in set(res.frame["event_type"])
    # the rest of the report is read as before
    rights = res.frame[res.frame["event_type"] == "gpo:user-right"]
    assert len(rights) == 1 and "Remote Desktop Users" in rights["message"].iloc[0]


def test_an_entry_without_a_gpo_line_is_named_and_what_follows_is_not_read(tmp_path):
    # the indented line after Groupname: is a stand-in for the unseen members lines (not a
    # real quote): it is neither a group nor a member of any row
    entries = ("                Groupname: BUILTIN\\Remote Desktop Users\n"
               "                           CORP\\Helpdesk\n")
    res = parse(tmp_path, report(entries))
    [w] = rg_warnings(res)
    assert "entry for Remote Desktop Users: BUILTIN\\Remote Desktop Users." in w.message
    assert "Helpdesk" not in w.message and "[GPO" not in w.message
    assert "gpo:restricted-group" not in set(res.frame["event_type"])


def test_entries_of_other_groups_say_nothing(tmp_path):
    res = parse(tmp_path, report("            GPO: Default Domain Policy\n"
                                 "                Groupname: Administrators\n"
                                 "                Groupname: BUILTIN\\Event Log Readers\n"))
    assert rg_warnings(res) == []
    res = parse(tmp_path, report("                Groupname: *S-1-5-32-555\n"))
    [w] = rg_warnings(res)
    assert "*S-1-5-32-555" in w.message


def test_an_empty_section_says_nothing(tmp_path):
    res = parse(tmp_path, report("            N/A\n"))
    assert rg_warnings(res) == []


def test_the_warning_reaches_the_report_beside_a_refused_logon(tmp_path):
    """End to end: the /z report and a Security log with a refused RDP logon (4625,
    0xC000015B). user-not-authorized reports the logon; it cannot name the GPO's entry
    (that needs /x), and the report's warnings say which entries were left unread."""
    res = parse(tmp_path, report(ENTRIES))
    refused = ev(30, "sec", 4625, user="CORP\\carol",
                 data={"Status": "0xC000015B", "SubStatus": "0x0", "LogonType": "10"})
    parts = [tl.finalize_part(res.frame, source="TS01_gpresult_z.txt", host=HOST),
             timeline([refused])]
    b = Bundle(path="bundle.zip", timeline=tl.concat(parts), inventory=pd.DataFrame(
        columns=["source", "kind", "status", "host", "records", "warnings", "reason"]),
        warnings=list(res.warnings), hosts=[HOST])
    r = analyze_bundle(b)
    [f] = [f for f in r.report.findings if f.id == "user-not-authorized"]
    assert "CORP\\carol" in f.summary
    assert "Restricted Groups in GPO" not in f.summary       # not read from /z
    ws = [w for w in r.report.warnings if "Restricted Groups" in w["message"]]
    assert len(ws) == 1 and ws[0]["source"].endswith("TS01_gpresult_z.txt")
    assert 'Remote Desktop Users [GPO "RDS Access"]' in ws[0]["message"]
    assert "gpresult /x" in ws[0]["message"]
