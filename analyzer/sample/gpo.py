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
