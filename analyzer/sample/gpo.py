"""Group Policy result reports: ``gpresult /x`` XML (2008+) and ``gpresult /z`` text (2003).

Structure per ../shared/KNOWLEDGE.md Part B §3: the Rsop root and namespaces, per-setting
``GPO``/``Precedence``, Administrative-template ``Policy`` elements with their parts,
``UserRightsAssignment`` members with Name+SID, ``SecurityOptions`` with ``KeyName`` and
``Display``. Namespace prefixes ``q1``, ``q2``… are numbered per extension as Windows does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape

from .textfmt import CRLF, local

NS_TYPES = "http://www.microsoft.com/GroupPolicy/Types"
NS_BASE = "http://www.microsoft.com/GroupPolicy/Settings/Base"


@dataclass
class Gpo:
    name: str
    guid: str                       # "{31B2F340-016D-11D2-945F-00C04FB984F9}"


@dataclass
class Policy:
    gpo: Gpo
    name: str
    state: str                      # Enabled / Disabled
    category: str
    parts: list[tuple[str, str, object]] = field(default_factory=list)   # (kind, name, value)
    # the registry values it writes under SOFTWARE\Policies\... (for /z text and POL exports)
    values: list[tuple[str, int]] = field(default_factory=list)
    supported: str = "At least Windows Server 2008 R2 or Windows 7"


@dataclass
class UserRight:
    gpo: Gpo
    name: str                       # SeRemoteInteractiveLogonRight
    members: list[tuple[str, str | None]]   # (name, sid)


@dataclass
class SecurityOption:
    gpo: Gpo
    key: str                        # MACHINE\System\...\FIPSAlgorithmPolicy\Enabled
    number: int
    display: str
    boolean: bool


@dataclass
class GpReport:
    computer: str                   # CONTOSO\TS01$
    domain: str                     # contoso.com
    som: str                        # contoso.com/Servers/RDS
    read_time: datetime
    gpos: list[Gpo]
    policies: list[Policy] = field(default_factory=list)
    rights: list[UserRight] = field(default_factory=list)
    options: list[SecurityOption] = field(default_factory=list)


def _gporef(g: Gpo, domain: str, p: str) -> list[str]:
    return [f'{p}<GPO xmlns="{NS_BASE}">',
            f'{p}  <Identifier xmlns="{NS_TYPES}">{g.guid}</Identifier>',
            f'{p}  <Domain xmlns="{NS_TYPES}">{escape(domain)}</Domain>',
            f"{p}</GPO>",
            f'{p}<Precedence xmlns="{NS_BASE}">1</Precedence>']


def rsop_xml(r: GpReport) -> str:
    """``gpresult /x`` (encode with ``utf16``; the declaration says utf-16 as Windows' does)."""
    t = r.read_time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    o = ['<?xml version="1.0" encoding="utf-16"?>',
         '<Rsop xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
         'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
         'xmlns="http://www.microsoft.com/GroupPolicy/Rsop">',
         f"  <ReadTime>{t}</ReadTime>", "  <DataType>LoggedData</DataType>",
         "  <ComputerResults>", "    <Version>2228228</Version>",
         f"    <Name>{escape(r.computer)}</Name>", f"    <Domain>{escape(r.domain)}</Domain>",
         f"    <SOM>{escape(r.som)}</SOM>", "    <Site>Default-First-Site-Name</Site>"]
    for sid, name in (("S-1-5-32-544", "BUILTIN\\Administrators"), ("S-1-1-0", "Everyone"),
                      ("S-1-5-11", "NT AUTHORITY\\Authenticated Users")):
        o += ["    <SecurityGroup>", f'      <SID xmlns="{NS_TYPES}">{sid}</SID>',
              f'      <Name xmlns="{NS_TYPES}">{escape(name)}</Name>', "    </SecurityGroup>"]
    o.append("    <SlowLink>false</SlowLink>")
    for i, g in enumerate(r.gpos, 1):
        o += ["    <GPO>", f"      <Name>{escape(g.name)}</Name>", "      <Path>",
              f'        <Identifier xmlns="{NS_TYPES}">{g.guid}</Identifier>',
              f'        <Domain xmlns="{NS_TYPES}">{escape(r.domain)}</Domain>', "      </Path>",
              "      <VersionDirectory>3</VersionDirectory>", "      <VersionSysvol>3</VersionSysvol>",
              "      <Enabled>true</Enabled>", "      <IsValid>true</IsValid>",
              "      <FilterAllowed>true</FilterAllowed>", "      <AccessDenied>false</AccessDenied>",
              "      <Link>", f"        <SOMPath>{escape(r.som)}</SOMPath>",
              f"        <SOMOrder>{i}</SOMOrder>", f"        <AppliedOrder>{i}</AppliedOrder>",
              "        <LinkOrder>1</LinkOrder>", "        <Enabled>true</Enabled>",
              "        <NoOverride>false</NoOverride>", "      </Link>", "    </GPO>"]
    o.append("    <ExtensionData>")
    q = 0
    if r.rights or r.options:
        q += 1
        p = f"q{q}"
        o += ["      <Extension xmlns:%s=\"http://www.microsoft.com/GroupPolicy/Settings/Security\" "
              "xsi:type=\"%s:SecuritySettings\" xmlns=\"http://www.microsoft.com/GroupPolicy/Settings\">"
              % (p, p)]
        for ur in r.rights:
            o.append(f"        <{p}:UserRightsAssignment>")
            o += _gporef(ur.gpo, r.domain, "          ")
            o.append(f"          <{p}:Name>{ur.name}</{p}:Name>")
            for name, sid in ur.members:
                o.append(f"          <{p}:Member>")
                if sid:
                    o.append(f'            <SID xmlns="{NS_TYPES}">{sid}</SID>')
                o.append(f'            <Name xmlns="{NS_TYPES}">{escape(name)}</Name>')
                o.append(f"          </{p}:Member>")
            o.append(f"        </{p}:UserRightsAssignment>")
        for so in r.options:
            o.append(f"        <{p}:SecurityOptions>")
            o += _gporef(so.gpo, r.domain, "          ")
            o += [f"          <{p}:KeyName>{escape(so.key)}</{p}:KeyName>",
                  f"          <{p}:SettingNumber>{so.number}</{p}:SettingNumber>",
                  f"          <{p}:Display>", f"            <{p}:Name>{escape(so.display)}</{p}:Name>",
                  f"            <{p}:Units />",
                  f"            <{p}:DisplayBoolean>{'true' if so.boolean else 'false'}</{p}:DisplayBoolean>",
                  f"          </{p}:Display>", f"        </{p}:SecurityOptions>"]
        o += ["      </Extension>", "      <Name>Security</Name>"]
    if r.policies:
        q += 1
        p = f"q{q}"
        o += ["      <Extension xmlns:%s=\"http://www.microsoft.com/GroupPolicy/Settings/Registry\" "
              "xsi:type=\"%s:RegistrySettings\" xmlns=\"http://www.microsoft.com/GroupPolicy/Settings\">"
              % (p, p)]
        for pol in r.policies:
            o.append(f"        <{p}:Policy>")
            o += _gporef(pol.gpo, r.domain, "          ")
            o += [f"          <{p}:Name>{escape(pol.name)}</{p}:Name>",
                  f"          <{p}:State>{pol.state}</{p}:State>",
                  f"          <{p}:Explain>{escape(pol.name)}: see the ADMX explanation text.</{p}:Explain>",
                  f"          <{p}:Supported>{escape(pol.supported)}</{p}:Supported>",
                  f"          <{p}:Category>{escape(pol.category)}</{p}:Category>"]
            for kind, name, value in pol.parts:
                o.append(f"          <{p}:{kind}>")
                o.append(f"            <{p}:Name>{escape(name)}</{p}:Name>")
                o.append(f"            <{p}:State>Enabled</{p}:State>")
                if kind == "DropDownList":
                    o += [f"            <{p}:Value>", f"              <{p}:Name>{escape(str(value))}</{p}:Name>",
                          f"            </{p}:Value>"]
                elif kind in ("Numeric", "EditText"):
                    o.append(f"            <{p}:Value>{escape(str(value))}</{p}:Value>")
                o.append(f"          </{p}:{kind}>")
            o.append(f"        </{p}:Policy>")
        o += ["      </Extension>", "      <Name>Registry</Name>"]
    o += ["    </ExtensionData>", "  </ComputerResults>", "</Rsop>"]
    return CRLF.join(o) + CRLF


def _us(t: datetime) -> str:
    h = t.hour % 12 or 12
    return (f"{t.month}/{t.day}/{t.year} at {h}:{t.minute:02d}:{t.second:02d} "
            f"{'AM' if t.hour < 12 else 'PM'}")


def gpresult_z_2003(r: GpReport, *, host: str, user: str, os_type: str, ts_mode: str,
                    tz_offset: int) -> str:
    """``gpresult /z`` on Windows Server 2003 (text; cmd.exe redirect → OEM code page)."""
    now = local(r.read_time, tz_offset)
    dn = ",".join(f"DC={x}" for x in r.domain.split("."))
    o = ["", "Microsoft (R) Windows (R) Operating System Group Policy Result tool v2.0",
         "Copyright (C) Microsoft Corp. 1981-2001", "", f"Created On {_us(now)}", "", "",
         f"RSOP data for {user} on {host} : Logging Mode",
         "-" * (len(f"RSOP data for {user} on {host} : Logging Mode")), "",
         f"OS Type:                     {os_type}", "OS Configuration:            Member Server",
         "OS Version:                  5.2.3790", f"Terminal Server Mode:        {ts_mode}",
         "Site Name:                   Default-First-Site-Name", "Roaming Profile:             ",
         f"Local Profile:               C:\\Documents and Settings\\{user.split(chr(92))[-1]}",
         "Connected over a slow link?: No", "", "", "COMPUTER SETTINGS", "------------------",
         f"    CN={host},OU=Servers,{dn}",
         f"    Last time Group Policy was applied: {_us(now)}",
         f"    Group Policy was applied from:      DC01.{r.domain}",
         "    Group Policy slow link threshold:   500 kbps",
         f"    Domain Name:                        {r.computer.split(chr(92))[0]}",
         "    Domain Type:                        Windows 2000", "",
         "    Applied Group Policy Objects", "    -----------------------------"]
    o += [f"        {g.name}" for g in r.gpos]
    o += ["", "    The computer is a part of the following security groups",
          "    -------------------------------------------------------",
          "        BUILTIN\\Administrators", "        Everyone",
          "        NT AUTHORITY\\Authenticated Users", "",
          "    Resultant Set Of Policies for Computer", "    ---------------------------------------",
          "", "        Software Installations", "        ----------------------", "            N/A",
          "", "        Startup Scripts", "        ---------------", "            N/A", "",
          "        Shutdown Scripts", "        ----------------", "            N/A", "",
          "        User Rights", "        -----------"]
    if not r.rights:
        o.append("            N/A")
    for ur in r.rights:
        o += [f"            GPO: {ur.gpo.name}", f"                Policy:            {ur.name}"]
        names = [n for n, _ in ur.members] or [""]
        o.append(f"                Computer Setting:  {names[0]}")
        o += [f"                                   {n}" for n in names[1:]]
        o.append("")
    o += ["", "        Security Options", "        ----------------"]
    if not r.options:
        o.append("            N/A")
    for so in r.options:
        o += [f"            GPO: {so.gpo.name}", f"                Policy:            {so.key}",
              f"                Computer Setting:  {'Enabled' if so.boolean else 'Disabled'}", ""]
    o += ["", "        Administrative Templates", "        ------------------------"]
    if not r.policies:
        o.append("            N/A")
    for pol in r.policies:
        for vname, num in pol.values:
            b = int(num).to_bytes(4, "little")
            o += [f"            GPO: {pol.gpo.name}",
                  f"                Folder Id: Software\\Policies\\Microsoft\\Windows NT\\Terminal Services\\{vname}",
                  f"                Value:       {', '.join(str(x) for x in b)}",
                  f"                State:       {pol.state}", ""]
    o += ["", "USER SETTINGS", "--------------", "    N/A", ""]
    return CRLF.join(o) + CRLF


_RIGHT_NAMES = {
    "SeRemoteInteractiveLogonRight": "Allow log on through Remote Desktop Services",
    "SeDenyRemoteInteractiveLogonRight": "Deny log on through Remote Desktop Services",
    "SeInteractiveLogonRight": "Allow log on locally",
    "SeNetworkLogonRight": "Access this computer from the network",
}
_EXPLAIN = ('<span class="explainlink" tabindex="0" onkeypress="javascript:showExplainText(this); '
            'return false;" onclick="javascript:showExplainText(this); return false;" '
            'gpmc_settingName="{name}" gpmc_settingPath="Computer Configuration/Administrative '
            'Templates/{cat}" gpmc_settingDescription="" gpmc_supported="{sup}">{name}</span>')


def _h(s: object) -> str:
    return escape(str(s), {'"': "&quot;"})


def _section(cls: str, title: str) -> str:
    return (f'<div class="{cls}"><span class="sectionTitle" tabindex="0">{_h(title)}</span>'
            '<a class="expando" href="#"></a></div>')


def _table(rows: list[str], head=("Policy", "Setting", "Winning GPO")) -> list[str]:
    return (['<div class="container"><div class="he4i"><table class="info3" >',
             "<tr>" + "".join(f'<th scope="col">{h}</th>' for h in head) + "</tr>"]
            + rows + ["</table>", "</div></div>"])


def rsop_html(r: GpReport, *, host: str, tz_offset: int) -> str:
    """``gpresult /h`` (GPMC report page; encode with ``utf16``). Only the structure the
    report's readers key on is reproduced (no scripts/images): the ``rsopsettings`` block
    with Computer and User ``he0_expanded`` sections, ``info3`` tables with Policy /
    Setting / Winning GPO, Administrative-Template rows with ``gpmc_setting*`` attributes
    and their parts in ``subtable_frame`` rows."""
    now = local(r.read_time, tz_offset)
    stamp = _us(now).replace(" at ", " ")
    o = ['<html dir="ltr" xmlns:v="urn:schemas-microsoft-com:vml" gpmc_reportInitialized="false">',
         "<head>", '<meta http-equiv="Content-Type" content="text/html; charset=UTF-16" />',
         f"<title>{_h(r.computer.split(chr(92))[0])}\\administrator on {_h(r.computer.rstrip('$'))}</title>",
         '<style type="text/css">.he0_expanded { display:block; } .info3 { width:100%; }</style>',
         "</head>", "<body>",
         '<table class="title" cellpadding="0" cellspacing="0"><tr><td colspan="2" class="gpotype">'
         "Group Policy Results</td></tr>",
         f'<tr><td colspan="2" class="datetime">{_h(r.computer.rstrip("$"))}</td></tr>',
         f'<tr><td class="rsopheader">Data collected on: {_h(stamp)}</td>'
         '<td class="rsopheader"><div id="objshowhide" tabindex="0"></div></td></tr></table>',
         '<div class="rsopsettings">', _section("he0_expanded", "Computer Details"),
         '<div class="container">', _section("he0h_expanded", "General"),
         '<div class="container"><div class="he2i"><table class="info" >',
         f"<tr><td>Computer name</td><td>{_h(r.computer.rstrip('$'))}</td></tr>",
         f"<tr><td>Domain</td><td>{_h(r.domain)}</td></tr>",
         "<tr><td>Site</td><td>Default-First-Site-Name</td></tr>",
         f"<tr><td>Organizational Unit</td><td>{_h(r.som)}</td></tr>",
         "</table></div></div>", _section("he0h_expanded", "Settings"), '<div class="container">',
         _section("he1h_expanded", "Policies"), '<div class="container">']
    if r.rights or r.options:
        o += [_section("he1_expanded", "Windows Settings"), '<div class="container">',
              _section("he2", "Security Settings"), '<div class="container">']
        if r.rights:
            o.append(_section("he3", "Local Policies/User Rights Assignment"))
            o += _table([f"<tr><td>{_h(_RIGHT_NAMES.get(u.name, u.name))}</td><td>"
                         f"{_h(', '.join(n.split(chr(92))[-1] for n, _ in u.members))}</td>"
                         f"<td>{_h(u.gpo.name)}</td></tr>" for u in r.rights])
        if r.options:
            o.append(_section("he3", "Local Policies/Security Options"))
            o += ['<div class="container">', _section("he4h", "System Cryptography")]
            o += _table([f"<tr><td>{_h(s.display)}</td><td>{'Enabled' if s.boolean else 'Disabled'}"
                         f"</td><td>{_h(s.gpo.name)}</td></tr>" for s in r.options])
            o.append("</div>")
        o += ["</div>", "</div>"]
    if r.policies:
        o += [_section("he1", "Administrative Templates"), '<div class="container">']
        cats: dict[str, list[Policy]] = {}
        for p in r.policies:
            cats.setdefault(p.category, []).append(p)
        for cat, pols in cats.items():
            o.append(_section("he3", cat))
            rows: list[str] = []
            for p in pols:
                rows.append("<tr><td>" + _EXPLAIN.format(name=_h(p.name), cat=_h(cat),
                                                         sup=_h(p.supported))
                            + f"</td><td>{p.state}</td><td>{_h(p.gpo.name)}</td></tr>")
                if p.parts:
                    rows.append('<tr><td colspan="3"><table class="subtable_frame" >')
                    rows += [f"<tr><td>{_h(name)}</td><td>{_h(value)}</td></tr>"
                             for _, name, value in p.parts]
                    rows.append("</table></td></tr>")
            o += _table(rows)
        o.append("</div>")
    o += ["</div>", "</div>", "</div>", _section("he0_expanded", "User Details"),
          '<div class="container">', _section("he0h_expanded", "Settings"),
          '<div class="container"><div class="he4i">No settings defined.</div></div>', "</div>",
          "</div>", "</body>", "</html>"]
    return CRLF.join(o) + CRLF
