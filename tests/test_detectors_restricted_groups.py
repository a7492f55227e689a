"""user-not-authorized reads Group Policy Restricted Groups (gpresult /x).

KB279301 ("Description of Group Policy Restricted Groups"): the Members list replaces the
group's membership at every policy refresh; "Member Of" only adds. Beside a refused RDP
logon, the winning GPO's entry for Remote Desktop Users (S-1-5-32-555) is named with who it
admits, and the remedy adds the user there (``net localgroup`` is undone at the next
refresh). An entry that puts a group into Remote Desktop Users is a grant: never a finding
alone. The bundles are gpresult /x XML parsed by the real parser, plus Security events.
"""
from __future__ import annotations

import codecs

from analyzer import timeline as tl
from analyzer.detectors import REGISTRY, Context
from parsers import gpresult

from _detector_kit import HOST, ev, timeline

_T = "http://www.microsoft.com/GroupPolicy/Types"
_B = "http://www.microsoft.com/GroupPolicy/Settings/Base"
A = "{AAAAAAAA-0000-0000-0000-000000000001}"
B = "{BBBBBBBB-0000-0000-0000-000000000002}"
RDU = ("BUILTIN\\Remote Desktop Users", "S-1-5-32-555")


def _gpo(name: str, guid: str, order: int) -> str:
    return (f'<GPO><Name>{name}</Name><Path><Identifier xmlns="{_T}">{guid}</Identifier></Path>'
            f'<IsValid>true</IsValid><FilterAllowed>true</FilterAllowed>'
            f'<AccessDenied>false</AccessDenied><Link><SOMPath>corp.example/Servers</SOMPath>'
            f'<AppliedOrder>{order}</AppliedOrder></Link></GPO>')


def _acct(tag: str, name: str, sid: str | None) -> str:
    s = f'<SID xmlns="{_T}">{sid}</SID>' if sid else ""
    return f'<q4:{tag}>{s}<Name xmlns="{_T}">{name}</Name></q4:{tag}>'


def _head(guid: str, prec: int) -> str:
    return (f'<GPO xmlns="{_B}"><Identifier xmlns="{_T}">{guid}</Identifier></GPO>'
            f'<Precedence xmlns="{_B}">{prec}</Precedence>')


def restricted(group, members=(), member_of=(), *, guid=A, prec=1) -> str:
    """A <q4:RestrictedGroups> entry: group and accounts as (name, sid) pairs."""
    return ("<q4:RestrictedGroups>" + _head(guid, prec) + _acct("GroupName", *group)
            + "".join(_acct("Member", *m) for m in members)
            + "".join(_acct("MemberOf", *m) for m in member_of) + "</q4:RestrictedGroups>")


# the allow right as Windows grants it: Remote Desktop Users hold it (no other reason fires)
ALLOW = ("<q4:UserRightsAssignment>" + _head(A, 1)
         + "<q4:Name>SeRemoteInteractiveLogonRight</q4:Name>"
         + _acct("Member", "BUILTIN\\Administrators", "S-1-5-32-544")
         + _acct("Member", *RDU) + "</q4:UserRightsAssignment>")


def rsop(*settings: str) -> str:
    return ('<?xml version="1.0" encoding="utf-16"?>\n'
            '<Rsop xmlns="http://www.microsoft.com/GroupPolicy/Rsop">'
            '<ReadTime>2024-03-05T07:00:00Z</ReadTime><ComputerResults><Name>CORP\\TS01$</Name>'
            + _gpo("RDS Access", A, 2) + _gpo("Server Baseline", B, 1)
            + '<ExtensionData><Extension xmlns:q4="http://www.microsoft.com/GroupPolicy/'
              'Settings/Security" xmlns="http://www.microsoft.com/GroupPolicy/Settings">'
            + ALLOW + "".join(settings) + "</Extension></ExtensionData></ComputerResults></Rsop>")


REFUSED = ev(30, "sec", 4625, user="CORP\\carol",
             data={"Status": "0xC000015B", "SubStatus": "0x0", "LogonType": "10"})


def analyze(tmp_path, *settings: str, events=(REFUSED,), os_rows=()):
    p = tmp_path / "TS01_Gpresult.xml"
    p.write_bytes(codecs.BOM_UTF16_LE + rsop(*settings).encode("utf-16-le"))
    res = gpresult.parse(p)
    assert res.warnings == []
    parts = [tl.finalize_part(res.frame, source="TS01_Gpresult.xml", host=HOST)]
    if events or os_rows:
        parts.append(timeline([*events, *os_rows]))
    ctx = Context.build(HOST, tl.concat(parts), None)
    return REGISTRY["user-not-authorized"].run(ctx)


HELPDESK = ("CORP\\Helpdesk", "S-1-5-21-1-2-3-1201")
OPS = ("CORP\\RDS Operators", "S-1-5-21-1-2-3-1202")


def test_a_gpo_forcing_the_members_of_remote_desktop_users_is_named_and_fixed_there(tmp_path):
    out = analyze(tmp_path, restricted(RDU, [HELPDESK, OPS]))
    assert [f.id for f in out] == ["user-not-authorized"] and out[0].severity == "error"
    s = out[0].summary
    assert 'Restricted Groups in GPO "RDS Access"' in s and "Remote Desktop Users" in s
    assert "CORP\\Helpdesk, CORP\\RDS Operators" in s
    assert "(logon type not granted) for CORP\\carol; Restricted Groups" in s
    steps = out[0].remedy.splitlines()
    # first: the GPO's Restricted Groups entry — net localgroup is undone at the next refresh
    assert 'Restricted Groups entry for Remote Desktop Users in the GPO "RDS Access"' in steps[0]
    assert "net localgroup" in steps[0] and "taken out again" in steps[0]
    assert "90 minutes" in steps[0] and "gpupdate /force" in steps[0]
    assert "Computer Configuration > Policies > Windows Settings" in steps[0]
    assert not any("Add the user to Remote Desktop Users: `net localgroup" in x for x in steps)
    assert out[0].details["restricted_groups"] == [
        {"gpo": "RDS Access", "members": ["CORP\\Helpdesk", "CORP\\RDS Operators"]}]
    sources = [(e.source, e.excerpt) for e in out[0].evidence]
    assert any(src == "TS01_Gpresult.xml" and "restricted group" in x for src, x in sources)
    assert any("4625" in x or "0xC000015B" in x for _, x in sources)


def test_on_2003_the_remedy_names_the_2003_editor_path(tmp_path):
    from _detector_kit import sysinfo
    out = analyze(tmp_path, restricted(RDU, [HELPDESK]),
                  os_rows=[sysinfo("Microsoft(R) Windows(R) Server 2003, Standard Edition",
                                   "5.2.3790 Service Pack 2 Build 3790")])
    step = out[0].remedy.splitlines()[0]
    assert "Computer Configuration > Windows Settings > Security Settings" in step
    assert "System Properties > Remote" in step


def test_a_name_only_entry_for_the_group_counts_but_everyone_is_not_the_group(tmp_path):
    """SID-less entries match Remote Desktop Users by its localized name; a restricted
    Everyone (a superset _is_rdu counts as holding RD Users) is not the group."""
    out = analyze(tmp_path, restricted(("VORDEFINIERT\\Remotedesktopbenutzer", None),
                                       [HELPDESK]))
    assert 'GPO "RDS Access" set the members' in out[0].summary
    out = analyze(tmp_path, restricted(("Everyone", "S-1-1-0"), [HELPDESK]),
                  restricted(("Jeder", None), [HELPDESK], guid=B))
    assert "Restricted Groups" not in out[0].summary
    assert "restricted_groups" not in (out[0].details or {})


def test_the_winning_gpo_decides(tmp_path):
    """Two GPOs set Remote Desktop Users: precedence 1 decides, whatever the file order."""
    out = analyze(tmp_path, restricted(RDU, [OPS], guid=A, prec=2),
                  restricted(RDU, [HELPDESK], guid=B, prec=1))
    s = out[0].summary
    assert 'GPO "Server Baseline"' in s and "CORP\\Helpdesk" in s
    assert "RDS Access" not in s and "RDS Operators" not in s
    assert 'in the GPO "Server Baseline"' in out[0].remedy.splitlines()[0]


def test_member_of_is_a_grant_never_a_finding_alone(tmp_path):
    grant = restricted(HELPDESK, member_of=[RDU])
    assert analyze(tmp_path, grant, events=()) == []
    # beside a refused logon it is named as who is granted; the remedy is the usual one
    out = analyze(tmp_path, grant)
    assert "put CORP\\Helpdesk into Remote Desktop Users" in out[0].summary
    assert "restricted_groups" not in out[0].details
    assert "Add the user to Remote Desktop Users: `net localgroup" in out[0].remedy.splitlines()[0]


def test_a_healthy_entry_without_refused_logons_raises_nothing(tmp_path):
    assert analyze(tmp_path, restricted(RDU, [HELPDESK]), events=()) == []
    # an entry listing no member is not judged alone: gpresult /x shows no <Member> for a
    # Members list defined empty and for one left undefined alike
    assert analyze(tmp_path, restricted(RDU), events=()) == []


def test_an_entry_listing_no_member_is_reported_beside_refused_logons_with_its_doubt(tmp_path):
    out = analyze(tmp_path, restricted(RDU))
    s = out[0].summary
    assert 'Restricted Groups in GPO "RDS Access" list no member for Remote Desktop Users' in s
    assert "only administrators can connect" in s and "left undefined" in s
    assert "Restricted Groups entry" in out[0].remedy.splitlines()[0]


def test_user_scope_rows_are_left_out(tmp_path):
    p = tmp_path / "TS01_Gpresult.xml"
    p.write_bytes(codecs.BOM_UTF16_LE + rsop(restricted(RDU, [HELPDESK])).encode("utf-16-le"))
    frame = gpresult.parse(p).frame
    frame["data"] = frame["data"].str.replace('"scope":"computer"', '"scope":"user"', regex=False)
    parts = [tl.finalize_part(frame, source="TS01_Gpresult.xml", host=HOST), timeline([REFUSED])]
    out = REGISTRY["user-not-authorized"].run(Context.build(HOST, tl.concat(parts), None))
    assert "Restricted Groups" not in out[0].summary


def test_the_parser_reads_memberof_in_either_spelling(tmp_path):
    xml = rsop(restricted(HELPDESK, member_of=[RDU]).replace("MemberOf", "Memberof"))
    p = tmp_path / "r.xml"
    p.write_bytes(codecs.BOM_UTF16_LE + xml.encode("utf-16-le"))
    import orjson
    rg = [orjson.loads(d) for t, d in zip(gpresult.parse(p).frame["event_type"],
                                          gpresult.parse(p).frame["data"])
          if t == "gpo:restricted-group"]
    assert rg[0]["member_of"] == [{"name": RDU[0], "sid": RDU[1]}]
    assert rg[0]["precedence"] == 1 and rg[0]["gpo"] == "RDS Access"
