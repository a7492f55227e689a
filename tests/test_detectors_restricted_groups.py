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

from parsers import gpresult


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


HELPDESK = ("CORP\\Helpdesk", "S-1-5-21-1-2-3-1201")


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
