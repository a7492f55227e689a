"""gpresult /x XML and /h HTML: corpus files read in place, namespace-prefix independence,
the XML/HTML twin of the CIS-hardened DC, damaged input."""
from __future__ import annotations

import codecs
from pathlib import Path

import orjson
import pytest

import parsers
from parsers import gpresult, gpresult_html

from conftest import corpus_files, ids

GP_CORPUS = corpus_files("gpresult")
XML = [p for p in GP_CORPUS if p.suffix == ".xml"]
HTML = [p for p in GP_CORPUS if p.suffix == ".html"]


def _corpus(name):
    p = [x for x in GP_CORPUS if x.name == name]
    if not p:
        pytest.skip(f"corpus file {name} not present")
    return p[0]


def rows(res, event_type=None):
    out = []
    for et, d, loc in zip(res.frame["event_type"], res.frame["data"], res.frame["locator"]):
        if event_type is None or et == event_type:
            out.append({"event_type": et, "locator": loc, **orjson.loads(d)})
    return out


@pytest.mark.parametrize("path", GP_CORPUS, ids=ids(GP_CORPUS))
def test_corpus_file_identified_and_parsed_without_warnings(path):
    mod = parsers.identify(path.read_bytes()[:65536], path.name)
    assert mod is (gpresult if path.suffix == ".xml" else gpresult_html)
    res = mod.parse(path)
    assert res.warnings == []
    assert set(res.frame["kind"].dropna()) <= {"gpresult"}


# --------------------------------------------------------------------------- XML


def test_cis_dc_remote_desktop_policies_with_winning_gpo():
    res = gpresult.parse(_corpus("hershey__GPResult-DC.xml"))
    assert res.meta["host"] == "WIN-1CPI0V6RVEL"
    assert str(res.frame["time"].iloc[0]) == "2023-10-19 01:09:34.476593+00:00"
    pol = {r["name"]: r for r in rows(res, "gpo:policy")}
    sl = pol["Require use of specific security layer for remote (RDP) connections"]
    assert (sl["state"], sl["parts"], sl["registry_value"], sl["value"]) == \
        ("Enabled", {"Security Layer": "SSL"}, "SecurityLayer", 2)
    assert sl["gpo"] == "18 Administrative Templates (Computer)" and sl["precedence"] == 1
    assert sl["gpo_guid"] == "{E77F3C61-C7EF-4DAE-9CB4-3236138A99FE}" and sl["scope"] == "computer"
    enc = pol["Set client connection encryption level"]
    assert (enc["registry_value"], enc["value"]) == ("MinEncryptionLevel", 3)
    assert pol["Require user authentication for remote connections by using Network Level "
               "Authentication"]["value"] == 1
    assert pol["Set time limit for active but idle Remote Desktop Services sessions"]["value"] == 900_000
    assert pol["Set time limit for disconnected sessions"]["value"] == 60_000
    assert pol["Encryption Oracle Remediation"]["registry_values"] == {"AllowEncryptionOracle": 0}
    assert pol["Restrict Remote Desktop Services users to a single Remote Desktop Services "
               "session"]["value"] == 1
    rdp_mapped = [r for r in rows(res, "gpo:policy") if r.get("registry_value")]
    assert len(rdp_mapped) == 9


def test_cis_dc_user_rights_members_and_security_options():
    res = gpresult.parse(_corpus("hershey__GPResult-DC.xml"))
    rights = {r["right"]: r for r in rows(res, "gpo:user-right")}
    deny = rights["SeDenyRemoteInteractiveLogonRight"]
    assert [m["name"] for m in deny["members"]] == ["Guests", r"oriontech\Contractors"]
    assert deny["gpo"] == "02 Local Policies - DC"
    assert [m["name"] for m in rights["SeRemoteInteractiveLogonRight"]["members"]] == ["Administrators"]
    opts = rows(res, "gpo:security-option")
    assert len(opts) == 62
    ldap = [o for o in opts if o["key_name"] == r"MACHINE\System\CurrentControlSet\Services\LDAP\LDAPClientIntegrity"][0]
    assert ldap["value"] == 1 and ldap["display_value"] == "Negotiate signing"
    assert not [o for o in opts if o.get("setting") == "FIPSAlgorithmPolicy"]
    gpos = rows(res, "gpo:gpo")
    assert len(gpos) == 16
    assert {g["name"] for g in gpos if g["scope"] == "computer" and g["applied"]} >= {
        "18 Administrative Templates (Computer)", "02 Local Policies - DC"}


def test_laymanstake_child_dc_has_no_rdp_policies():
    res = gpresult.parse(_corpus("laymanstake__rsop.xml"))
    assert res.meta["host"] == "CHILDDC" and res.meta["site"] == "London"
    assert rows(res, "gpo:policy") == []
    assert len(rows(res, "gpo:gpo")) == 3


def test_fail_report_has_rights_but_no_rds_policies():
    res = gpresult.parse(_corpus("hershey__GPResult-Fail.xml"))
    assert not [r for r in rows(res, "gpo:policy") if r.get("registry_value")]
    rights = {r["right"]: r for r in rows(res, "gpo:user-right")}
    assert [m["name"] for m in rights["SeDenyRemoteInteractiveLogonRight"]["members"]] == ["Guests"]


_HANDMADE = """<?xml version="1.0" encoding="utf-16"?>
<Rsop xmlns="http://www.microsoft.com/GroupPolicy/Rsop">
  <ReadTime>2024-02-01T10:00:00Z</ReadTime>
  <ComputerResults>
    <Name>CORP\\TS01$</Name>
    <GPO><Name>RDS Hardening</Name><Path><Identifier xmlns="http://www.microsoft.com/GroupPolicy/Types">{AAAA}</Identifier></Path>
      <Link><SOMPath>corp/Servers</SOMPath><AppliedOrder>1</AppliedOrder></Link><FilterAllowed>true</FilterAllowed><AccessDenied>false</AccessDenied></GPO>
    <ExtensionData><Extension xmlns:zz="http://www.microsoft.com/GroupPolicy/Settings/Registry"
        xmlns:sec9="http://www.microsoft.com/GroupPolicy/Settings/Security"
        xmlns="http://www.microsoft.com/GroupPolicy/Settings">
      <zz:Policy>
        <GPO xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base"><Identifier xmlns="http://www.microsoft.com/GroupPolicy/Types">{AAAA}</Identifier></GPO>
        <Precedence xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base">1</Precedence>
        <zz:Name>Limit number of connections</zz:Name><zz:State>Enabled</zz:State>
        <zz:Category>Windows Components/Terminal Services/Terminal Server/Connections</zz:Category>
        <zz:Numeric><zz:Name>TS Maximum Connections allowed</zz:Name><zz:State>Enabled</zz:State><zz:Value>2</zz:Value></zz:Numeric>
      </zz:Policy>
      <zz:RegistrySetting>
        <GPO xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base"><Identifier xmlns="http://www.microsoft.com/GroupPolicy/Types">{AAAA}</Identifier></GPO>
        <zz:KeyPath>Software\\Policies\\Microsoft\\Windows NT\\Terminal Services</zz:KeyPath>
        <zz:Value><zz:Name>fDenyTSConnections</zz:Name><zz:Number>1</zz:Number></zz:Value>
      </zz:RegistrySetting>
      <sec9:SecurityOptions>
        <GPO xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base"><Identifier xmlns="http://www.microsoft.com/GroupPolicy/Types">{AAAA}</Identifier></GPO>
        <sec9:KeyName>MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\FIPSAlgorithmPolicy\\Enabled</sec9:KeyName>
        <sec9:SettingNumber>1</sec9:SettingNumber>
      </sec9:SecurityOptions>
      <sec9:UserRightsAssignment>
        <sec9:Name>SeRemoteInteractiveLogonRight</sec9:Name>
        <sec9:Member><Name xmlns="http://www.microsoft.com/GroupPolicy/Types">BUILTIN\\Remote Desktop Users</Name><SID xmlns="http://www.microsoft.com/GroupPolicy/Types">S-1-5-32-555</SID></sec9:Member>
      </sec9:UserRightsAssignment>
      <sec9:RestrictedGroups>
        <sec9:GroupName><SID xmlns="http://www.microsoft.com/GroupPolicy/Types">S-1-5-32-555</SID><Name xmlns="http://www.microsoft.com/GroupPolicy/Types">BUILTIN\\Remote Desktop Users</Name></sec9:GroupName>
        <sec9:Member><Name xmlns="http://www.microsoft.com/GroupPolicy/Types">CORP\\Helpdesk</Name></sec9:Member>
      </sec9:RestrictedGroups>
      <Policy><Name>Limit number of connections</Name><State>Enabled</State></Policy>
    </Extension></ExtensionData>
  </ComputerResults>
</Rsop>
"""


def test_prefixes_are_ignored_namespaces_decide(tmp_path):
    p = tmp_path / "r.xml"
    p.write_bytes(codecs.BOM_UTF16_LE + _HANDMADE.encode("utf-16-le"))
    assert parsers.identify(p.read_bytes()) is gpresult
    res = gpresult.parse(p)
    assert res.warnings == [] and res.meta["host"] == "TS01"
    pol = rows(res, "gpo:policy")
    # the un-namespaced <Policy> (wrong namespace) is not a registry policy
    assert len(pol) == 1
    assert (pol[0]["registry_value"], pol[0]["value"], pol[0]["gpo"]) == ("MaxInstanceCount", 2, "RDS Hardening")
    reg = rows(res, "gpo:registry")[0]
    assert (reg["name"], reg["value"]) == ("fDenyTSConnections", 1)
    so = rows(res, "gpo:security-option")[0]
    assert so["setting"] == "FIPSAlgorithmPolicy" and so["value"] == 1
    ur = rows(res, "gpo:user-right")[0]
    assert ur["members"] == [{"name": r"BUILTIN\Remote Desktop Users", "sid": "S-1-5-32-555"}]
    rg = rows(res, "gpo:restricted-group")[0]
    assert rg["group"]["sid"] == "S-1-5-32-555" and rg["members"][0]["name"] == r"CORP\Helpdesk"


def test_truncated_xml_recovers_with_warning(tmp_path):
    p = tmp_path / "cut.xml"
    data = _HANDMADE.encode("utf-16-le")
    p.write_bytes(codecs.BOM_UTF16_LE + data[: data.find("<sec9:SecurityOptions>".encode("utf-16-le"))])
    res = gpresult.parse(p)
    assert res.warnings and "recovery" in res.warnings[0].message
    assert [r["value"] for r in rows(res, "gpo:policy")] == [2]


def test_entities_are_not_expanded(tmp_path):
    p = tmp_path / "evil.xml"
    p.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                 '<Rsop xmlns="http://www.microsoft.com/GroupPolicy/Rsop"><ReadTime>&x;</ReadTime>'
                 '<ComputerResults><Name>A\\B$</Name></ComputerResults></Rsop>')
    res = gpresult.parse(p)
    assert "root:" not in str(res.meta) and res.meta["host"] == "B"


# --------------------------------------------------------------------------- HTML


def _rdp_view(res):
    """The RDP-relevant rows of a report, in a form both readers share."""
    pol = {(r["scope"], r["name"]): (r["state"], r["registry_values"], r["gpo"])
           for r in rows(res, "gpo:policy") if r.get("registry_values") is not None}
    rights = {(r["scope"], r["right"]): (sorted(m["name"] for m in r["members"]), r["gpo"])
              for r in rows(res, "gpo:user-right")
              if r["right"] in ("SeRemoteInteractiveLogonRight", "SeDenyRemoteInteractiveLogonRight")}
    return pol, rights


def test_xml_html_twin_agree_on_rdp_relevant_rows():
    x = gpresult.parse(_corpus("hershey__GPResult-DC.xml"))
    h = gpresult_html.parse(_corpus("hershey__GPResult-DC.html"))
    assert h.meta["host"] == x.meta["host"] == "WIN-1CPI0V6RVEL"
    xp, xr = _rdp_view(x)
    hp, hr = _rdp_view(h)
    assert len(xp) == 9 and len(xr) == 2
    assert hp == xp
    assert hr == xr
    # the whole settings count agrees too: every admin-template policy and user right
    assert len(rows(h, "gpo:policy")) == len(rows(x, "gpo:policy")) == 196
    assert len(rows(h, "gpo:user-right")) == len(rows(x, "gpo:user-right")) == 40


def test_russian_report_read_by_structure():
    res = gpresult_html.parse(_corpus("bellostar__gpresult_ru-RU.html"))
    pol = rows(res, "gpo:policy")
    assert len(pol) == 4 and {r["scope"] for r in pol} == {"user"}
    ad = [r for r in pol if r["name"] == "Фоновые рисунки рабочего стола"][0]
    assert ad["state"] == "Включено" and ad["gpo"] == "GP_Operator"
    assert ad["parts"]["Стиль фонового рисунка:"] == "Растянуть"
    assert ad["category"] == "Рабочий стол/Рабочий стол"
    assert res.meta["capture_time_local"] == "22.07.2024 23:09:49"
    assert res.meta["host"] is None          # user-only report: no computer section


def test_html_capture_time_with_tz_hint():
    from parsers.base import ParseOptions
    res = gpresult_html.parse(_corpus("hershey__GPResult-DC.html"), ParseOptions(tz_hint="America/Los_Angeles"))
    assert str(res.frame["time"].iloc[0]) == "2023-10-19 01:10:01+00:00"


def test_workgroup_report_without_settings_and_fai_user_rights():
    arshu = gpresult_html.parse(_corpus("arshu__gpresult_workgroup.html"))
    assert [r["event_type"] for r in rows(arshu)] == ["gpo:subject", "gpo:subject"]   # no settings
    res = gpresult_html.parse(_corpus("fai1424__gpresult.html"))
    assert res.meta["host"] == "WIN-ARN1DBGV2D1"
    assert len(rows(res, "gpo:user-right")) == 25


def test_handwritten_2008_html_names_rights_fips_and_extra_registry():
    from pathlib import Path

    from analyzer import config as C
    from analyzer import timeline as tl

    p = Path(__file__).parent / "fixtures" / "gpresult" / "gpresult_h_2008_terminal_services.html"
    assert parsers.identify(p.read_bytes(), p.name) is gpresult_html
    res = gpresult_html.parse(p)
    assert res.warnings == [] and res.meta["host"] == "TS2008"
    rights = {r["right"]: r for r in rows(res, "gpo:user-right")}
    assert [m["name"] for m in rights["SeRemoteInteractiveLogonRight"]["members"]] == ["Administrators", r"CORP\TS Users"]
    assert "Shut down the system" in rights                     # same table, display name kept
    fips = rows(res, "gpo:security-option")[0]
    assert (fips["setting"], fips["value"]) == ("FIPSAlgorithmPolicy", 1)
    extra = rows(res, "gpo:registry")[0]
    assert (extra["key_path"], extra["name"], extra["value"]) == (
        r"Software\Policies\Microsoft\Windows NT\Terminal Services", "fSingleSessionPerUser", 1)
    cfg = C.effective_config(tl.concat([tl.finalize_part(res.frame, source="gp.html", host=None)]))
    want = {"fDenyTSConnections": 0, "MaxInstanceCount": 5, "KeepAliveEnable": 1, "KeepAliveInterval": 2,
            "SecurityLayer": 1, "MinEncryptionLevel": 2, "LicenseServers": ["lic01", "lic02"],
            "LicensingMode": 4, "fSingleSessionPerUser": 1, "FIPSAlgorithmPolicy": 1}
    got = {s: C.value(cfg, "TS2008", s) for s in want}
    assert got == want
    assert {C.get(cfg, "TS2008", s)["gpo"] for s in want} == {"TS Baseline"}


def test_html_localized_remote_desktop_policies_that_cannot_be_mapped_are_a_warning(tmp_path):
    """A German report names its policies in German: they cannot be mapped to registry
    values, so the parser says so (one warning, naming them and the language-neutral
    export to ask for) instead of leaving the effective configuration silently without
    them. The English original maps them and has no such warning."""
    p = Path(__file__).parent / "fixtures" / "gpresult" / "gpresult_h_2008_terminal_services.html"
    text = p.read_bytes().decode("utf-16")          # (as gpresult /h writes it)
    english = gpresult_html.parse(p)
    assert not [w for w in english.warnings if "could not be mapped" in w.message]
    german = (text.replace("Computer Configuration/Administrative Templates/Windows Components/"
                           "Terminal Services", "Computerkonfiguration/Administrative Vorlagen/"
                           "Windows-Komponenten/Remotedesktopdienste")
              .replace("Allow users to connect remotely using Terminal Services",
                       "Verbindungen über Remotedesktopdienste zulassen")
              .replace("Limit number of connections", "Anzahl der Verbindungen beschränken"))
    assert german != text
    de = tmp_path / "gpresult_de.html"
    de.write_text(german, encoding="utf-16")
    res = gpresult_html.parse(de)
    w = [w for w in res.warnings if "could not be mapped" in w.message]
    assert len(w) == 1
    assert '"Verbindungen über Remotedesktopdienste zulassen"' in w[0].message
    assert "Windows NT\\Terminal Services" in w[0].message and w[0].locator.startswith("line ")
    mapped = [r for r in rows(res, "gpo:policy") if r.get("registry_value")]
    assert len(mapped) < len([r for r in rows(english, "gpo:policy") if r.get("registry_value")])


@pytest.mark.parametrize("name,fips", [
    ("System cryptography: Use FIPS compliant algorithms for encryption, hashing, and signing", True),
    ("Systemkryptografie: FIPS-konformen Algorithmus für Verschlüsselung, Hashing und "
     "Signatur verwenden", True),
    ("Chiffrement système : utiliser des algorithmes compatibles FIPS pour le chiffrement, "
     "le hachage et la signature", True),
    ("System cryptography: Force strong key protection for user keys stored on the computer",
     False),
    ("Network security: LAN Manager authentication level", False)])
def test_fips_security_option_is_found_in_any_language(name, fips):
    from parsers import gpcommon as gc
    assert gc.is_fips_option(None, name) is fips


@pytest.mark.parametrize("word,value", [("Enabled", 1), ("Aktiviert", 1), ("Activé", 1),
                                        ("Deaktiviert", 0), ("Désactivé", 0), ("Отключено", 0),
                                        ("Not Defined", None), ("", None)])
def test_security_option_state_words(word, value):
    from parsers import gpcommon as gc
    assert gc.state_value(word) == value


def test_user_right_names_with_a_typographic_apostrophe():
    # French reports write l’ouverture (U+2019), the table l'ouverture
    from parsers import gpcommon as gc
    assert gc.user_right_constant("Interdire l\u2019ouverture de session par les services "
                                  "Bureau à distance") == "SeDenyRemoteInteractiveLogonRight"


@pytest.mark.parametrize("name,right", [
    ("Denegar inicio de sesión a través de Servicios de Escritorio remoto",
     "SeDenyRemoteInteractiveLogonRight"),
    ("Consenti accesso tramite Servizi Desktop remoto", "SeRemoteInteractiveLogonRight"),
    ("Odmowa logowania za pomocą usług pulpitu zdalnego", "SeDenyRemoteInteractiveLogonRight"),
    ("Access this computer from the network", "SeNetworkLogonRight"),
    ("Permitir algo que no existe", None)])
def test_user_right_display_names_in_more_languages(name, right):
    from parsers import gpcommon as gc
    assert gc.user_right_constant(name) == right


def test_xml_localized_remote_desktop_policies_that_cannot_be_mapped_are_a_warning(tmp_path):
    """``gpresult /x`` names policies in the display language too: a Russian report's
    Remote Desktop policy could not be mapped and vanished from the effective configuration
    without a word (the ``/h`` reader already warned). English reports map it, no warning."""
    ru = (_HANDMADE.replace("Limit number of connections",
                            "Ограничить количество подключений")
          .replace("Windows Components/Terminal Services/Terminal Server/Connections",
                   "Компоненты Windows/Службы удаленных рабочих столов/"
                   "Узел сеансов удаленных рабочих столов/Подключения"))
    assert ru != _HANDMADE
    p = tmp_path / "r.xml"
    p.write_bytes(codecs.BOM_UTF16_LE + ru.encode("utf-16-le"))
    res = gpresult.parse(p)
    w = [w for w in res.warnings if "could not be mapped" in w.message]
    assert len(w) == 1 and '"Ограничить количество подключений"' in w[0].message
    assert w[0].locator == rows(res, "gpo:policy")[0]["locator"]
    assert "registry_value" not in rows(res, "gpo:policy")[0]


def test_html_policy_names_are_unescaped_like_the_xml_twin():
    """GPMC writes ``gpmc_settingName`` escaped twice (``&amp;quot;``): two names of the
    CIS report kept a literal ``&quot;``. The quoted policy names of the /h report now match
    their /x twin's."""
    x = {r["name"] for r in rows(gpresult.parse(_corpus("hershey__GPResult-DC.xml")), "gpo:policy")}
    h = {r["name"] for r in rows(gpresult_html.parse(_corpus("hershey__GPResult-DC.html")),
                                 "gpo:policy")}
    quoted = {n for n in x if '"' in n}
    assert len(quoted) == 2 and quoted <= h
    assert not [n for n in h if "&quot;" in n or "&amp;" in n]


def test_html_rights_under_an_unknown_heading_and_a_cut_report_are_warnings(tmp_path):
    """Rights whose names are all in a language we do not know were read as nothing and
    user-not-authorized passed silently; a report cut in its rights table was read as whole
    (found by review)."""
    p = Path(__file__).parent / "fixtures" / "gpresult" / "gpresult_h_2008_terminal_services.html"
    text = p.read_bytes().decode("utf-16")
    named = text.replace("Allow log on through Terminal Services", "ターミナル サービスを使ったログオンを許可") \
        .replace("Deny log on through Terminal Services", "ターミナル サービスを使ったログオンを拒否") \
        .replace("Shut down the system", "システムのシャットダウン")
    res = gpresult_html.parse_text(named, "gp.html")
    assert rows(res, "gpo:user-right")
    assert any("user right(s) named in a language rdpdoctor does not know" in w.message
               for w in res.warnings)
    # English rights we have no constant for, beside known ones, are no such case
    en = text.replace("Shut down the system", "Log on as a service")
    assert not gpresult_html.parse_text(en, "gp.html").warnings
    cut = text[: text.index("Allow log on through Terminal Services") + 60]
    res = gpresult_html.parse_text(cut, "gp.html")
    assert any("ends without </html> (truncated)" in w.message for w in res.warnings)
    assert not [w for w in gpresult_html.parse_text(text, "gp.html").warnings]

def test_computer_details_show_a_domain_controller_in_xml_and_html():
    """The DC twin: its OU and security groups (what tells user-not-authorized it is a DC)
    are read from the XML's ComputerResults and from the HTML's General table."""
    x = [r for r in rows(gpresult.parse(_corpus("hershey__GPResult-DC.xml")), "gpo:subject")
         if r["scope"] == "computer"]
    h = [r for r in rows(gpresult_html.parse(_corpus("hershey__GPResult-DC.html")), "gpo:subject")
         if r["scope"] == "computer"]
    assert len(x) == len(h) == 1
    x, h = x[0], h[0]
    assert x["som"] == h["som"] == "corp.oriontech.info/Domain Controllers"
    assert x["locator"] == "line 376" and x["name"] == "oriontech\\WIN-1CPI0V6RVEL$"
    assert {"name": "oriontech\\Domain Controllers",
            "sid": "S-1-5-21-2005484979-1344084764-2511824299-516"} in x["groups"]
    assert [g["name"] for g in h["groups"]] == [g["name"] for g in x["groups"]]
    # a workgroup server: no OU, its groups still listed
    w = rows(gpresult_html.parse(_corpus("arshu__gpresult_workgroup.html")), "gpo:subject")
    assert w[0]["scope"] == "computer" and w[0]["som"] is None
    assert "Everyone" in [g["name"] for g in w[0]["groups"]]
