"""gpresult /z text (Windows Server 2003): hand-written fixture, mapping into the config."""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import parsers
from analyzer import config as C
from analyzer import timeline as tl
from parsers import gpresult_text
from parsers.base import NotMyFormat

FIX = Path(__file__).parent / "fixtures" / "gpresult" / "gpresult_z_2003.txt"


def _rows(res, et):
    return [{"locator": loc, **orjson.loads(d)} for e, d, loc in
            zip(res.frame["event_type"], res.frame["data"], res.frame["locator"]) if e == et]


@pytest.fixture(scope="module")
def res():
    return gpresult_text.parse(FIX)


def test_identified_and_host(res):
    assert parsers.identify(FIX.read_bytes(), FIX.name) is gpresult_text
    assert res.meta["host"] == "TS2003" and res.meta["user"] == r"CORP\helpdesk"
    assert res.meta["capture_time_local"] == "3/14/2010 9:26:53 AM"
    assert set(res.frame["host"]) == {"TS2003"}


def test_gpo_lists(res):
    gpos = _rows(res, "gpo:gpo")
    assert [(g["name"], g["applied"]) for g in gpos] == [
        ("TS Lockdown", True), ("Default Domain Policy", True), ("Local Group Policy", False)]
    assert gpos[2]["reason"] == "Not Applied (Empty)"


def test_registry_policy_blocks_decoded(res):
    reg = {r["name"]: r for r in _rows(res, "gpo:registry")}
    assert reg["fDenyTSConnections"]["value"] == 0
    assert reg["MinEncryptionLevel"]["value"] == 3
    assert reg["LicenseServers"]["value"] == "lic01.corp.example"
    assert reg["MaxIdleTime"]["scope"] == "user" and reg["MaxIdleTime"]["value"] == 600_000
    assert reg["fDenyTSConnections"]["key_path"] == r"Software\Policies\Microsoft\Windows NT\Terminal Services"
    assert reg["fDenyTSConnections"]["gpo"] == "TS Lockdown"
    assert reg["fDenyTSConnections"]["locator"] == "line 85"


def test_user_rights_with_continuation_members(res):
    rights = {r["right"]: r for r in _rows(res, "gpo:user-right")}
    assert [m["name"] for m in rights["SeRemoteInteractiveLogonRight"]["members"]] == \
        ["Administrators", r"CORP\TS Users"]
    assert [m["name"] for m in rights["SeDenyRemoteInteractiveLogonRight"]["members"]] == [r"CORP\Contractors"]


def test_unmappable_things_are_warnings_with_lines(res):
    assert [(w.locator, w.message.split(" ")[1]) for w in res.warnings] == [
        ("line 72", "map"), ("line 110", "decode")]


def test_effective_config_from_2003_gpresult(res):
    cfg = C.effective_config(tl.concat([tl.finalize_part(res.frame, source="gp.txt", host=None)]))
    row = C.get(cfg, "TS2003", "MinEncryptionLevel")
    assert (row["value"], row["origin"], row["gpo"], row["locator"]) == (3, "gpresult", "TS Lockdown", "line 90")
    assert C.get(cfg, "TS2003", "FIPSAlgorithmPolicy")["origin"] == "security-option"
    assert C.value(cfg, "TS2003", "FIPSAlgorithmPolicy") == 1
    assert C.value(cfg, "TS2003", "LicenseServers") == ["lic01.corp.example"]
    assert C.value(cfg, "TS2003", "MaxInstanceCount") == 2
    assert C.get(cfg, "TS2003", "MaxIdleTime")["is_default"] is True    # user scope only


def test_not_gpresult():
    with pytest.raises(NotMyFormat):
        gpresult_text.parse_text("hello world\n", "x")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text_after_header_never_raises(tail):
    text = "RSOP data for A\\b on HOST : Logging Mode\nCOMPUTER SETTINGS\n------\n" + tail
    gpresult_text.parse_text(text, "fuzz.txt")


def test_a_right_defined_with_no_account_has_no_members(tmp_path):
    """``Computer Setting: N/A`` is a right defined with no account, not a member named
    "N/A" (which made user-not-authorized report "Deny log on ... lists N/A")."""
    f = tmp_path / "gpresult_z.txt"
    f.write_text(FIX.read_text(encoding="utf-8").replace(
        "Computer Setting:  CORP\\Contractors", "Computer Setting:  N/A"), encoding="utf-8")
    rights = {r["right"]: r for r in _rows(gpresult_text.parse(f), "gpo:user-right")}
    assert rights["SeDenyRemoteInteractiveLogonRight"]["members"] == []
    assert len(rights["SeRemoteInteractiveLogonRight"]["members"]) == 2


def test_an_unresolved_account_is_its_sid(tmp_path):
    """gpresult /z prints an account it cannot resolve as ``*S-1-5-32-555``: that is Remote
    Desktop Users, not a member named "*S-1-5-32-555" (user-not-authorized said Remote
    Desktop Users were left out: a false error)."""
    f = tmp_path / "gpresult_z.txt"
    f.write_text(FIX.read_text(encoding="utf-8").replace(
        "                                   CORP\\TS Users",
        "                                   *S-1-5-32-555"), encoding="utf-8")
    rights = {r["right"]: r for r in _rows(gpresult_text.parse(f), "gpo:user-right")}
    assert rights["SeRemoteInteractiveLogonRight"]["members"] == [
        {"name": "Administrators", "sid": None}, {"name": "*S-1-5-32-555", "sid": "S-1-5-32-555"}]
    import analyzer

    def summary(bundle):
        rep = analyzer.analyze(bundle).report
        return " ".join(f.summary for f in rep.findings if f.id == "user-not-authorized")

    assert "left out" in summary(FIX)                  # CORP\\TS Users instead of RDU
    fixed = summary(tmp_path)
    assert "left out" not in fixed and "CORP\\Contractors" in fixed   # the Deny right stays


def test_keyname_form_and_folder_redirection(tmp_path):
    """Windows 7 and later print ``KeyName:`` where 2003 printed ``Folder Id:`` (real /v
    output); every Administrative Templates setting was lost. Folder Redirection's
    ``Folder Id: Documents`` is no registry value."""
    text = FIX.read_text(encoding="utf-8")
    want = [(r["key_path"], r["name"], r["value"]) for r in _rows(gpresult_text.parse(FIX),
                                                                 "gpo:registry")]
    assert len(want) >= 4
    f = tmp_path / "gpresult_v.txt"
    f.write_text(text.replace("Folder Id:", "KeyName:  "), encoding="utf-8")
    assert "Folder Id" not in f.read_text(encoding="utf-8")
    assert parsers.identify(f.read_bytes(), "x.txt") is gpresult_text
    got = [(r["key_path"], r["name"], r["value"]) for r in _rows(gpresult_text.parse(f),
                                                                "gpo:registry")]
    assert got == want
    redirect = ("\n        Folder Redirection\n        ------------------\n"
                "            GPO: Redirected Folders\n                Folder Id: Documents\n"
                "                    Redirected Path:  \\\\files\\users$\\%USERNAME%\n\n")
    i = text.index("        Administrative Templates")
    f.write_text(text[:i] + redirect + text[i:], encoding="utf-8")
    got = [(r["key_path"], r["name"], r["value"]) for r in _rows(gpresult_text.parse(f),
                                                                "gpo:registry")]
    assert got == want


def test_gpos_that_disagree_in_z_are_a_warning():
    """/z lists a setting once per GPO that sets it, with no precedence: the last listed
    silently decided a critical rdp-disabled (found by review). Now it says so."""
    text = FIX.read_text(encoding="utf-8-sig")
    block = ("            GPO: TS Lockdown\n"
             "                Folder Id: Software\\Policies\\Microsoft\\Windows NT\\Terminal Services\\fDenyTSConnections\n"
             "                Value:       0, 0, 0, 0\n")
    assert block in text
    other = block.replace("TS Lockdown", "Default Domain Policy").replace("0, 0, 0, 0", "1, 0, 0, 0")
    res = gpresult_text.parse_text(text.replace(block, block + "                State:       Enabled\n\n"
                                                + other, 1), "z.txt")
    w = [x for x in res.warnings if "fDenyTSConnections is set differently by 2 GPOs" in x.message]
    assert len(w) == 1 and "TS Lockdown: 0" in w[0].message and "Default Domain Policy: 1" in w[0].message
    assert not [x for x in gpresult_text.parse_text(text, "z.txt").warnings if "differently" in x.message]


def test_computer_details_ou_path_and_groups(res):
    """The ``CN=…,OU=…,DC=…`` line becomes the OU path the XML report's SOM has (a DC's is
    ``…/Domain Controllers``), and the security-group list is kept."""
    subj = {r["scope"]: r for r in _rows(res, "gpo:subject")}
    assert subj["computer"]["som"] == "corp.example/Terminal Servers"
    assert subj["computer"]["name"] == "TS2003"
    assert [g["name"] for g in subj["computer"]["groups"]] == [
        "BUILTIN\\Administrators", "Everyone", "NT AUTHORITY\\Authenticated Users"]
    assert subj["user"]["som"] == "corp.example/Staff"
    dc = gpresult_text.parse_text(
        "RSOP data for CORP\\admin on DC01 : Logging Mode\n\nCOMPUTER SETTINGS\n"
        "------------------\n    CN=DC01,OU=Domain Controllers,DC=corp,DC=example\n\n"
        "    The computer is a part of the following security groups:\n"
        "    --------------------------------------------------------\n"
        "        CORP\\Domain Controllers\n        *S-1-5-9\n", "dc.txt")
    d = _rows(dc, "gpo:subject")[0]
    assert d["som"] == "corp.example/Domain Controllers"
    assert d["groups"] == [{"name": "CORP\\Domain Controllers", "sid": None},
                           {"name": "*S-1-5-9", "sid": "S-1-5-9"}]


def _z_block(path: str, value: str) -> str:
    return ("            GPO: TS Policy\n"
            f"                Folder Id: {path}\n"
            f"                Value:       {value}\n"
            "                State:       Enabled\n\n")


def test_four_bytes_that_are_a_one_character_string_follow_the_value_type():
    """/z prints a value's bytes, not its type: '49, 0, 0, 0' is the DWORD 49 or the REG_SZ "1"
    with its terminator, and every four bytes were read as a DWORD (a real /z has it for
    AutoBackupLogFiles, a REG_SZ "1", read as 49). Known DWORDs stay numbers (50 = '2' is a
    connection limit), known strings are strings, and anything else keeps the number with a
    warning that names the other reading."""
    text = FIX.read_text(encoding="utf-8-sig")
    ts = r"Software\Policies\Microsoft\Windows NT\Terminal Services"
    i = text.index("            GPO: TS Lockdown")
    blocks = (_z_block(r"Software\Policies\Microsoft\Windows\EventLog\Security\AutoBackupLogFiles",
                       "49, 0, 0, 0")
              + _z_block(ts + r"\KeepAliveInterval", "60, 0, 0, 0")
              + _z_block(r"Software\Policies\Contoso\Agent\Mode", "65, 0, 0, 0"))
    lic = "108, 0, 105, 0, 99, 0, 48, 0, 49, 0, 46, 0, 99, 0, 111, 0, 114, 0, 112, 0, 46, 0, " \
          "101, 0, 120, 0, 97, 0, 109, 0, 112, 0, 108, 0, 101, 0, 0, 0"
    assert lic in text and "MaxInstanceCount\n                Value:       2, 0, 0, 0" in text
    text = (text[:i] + blocks + text[i:]).replace(lic, "76, 0, 0, 0").replace(
        "MaxInstanceCount\n                Value:       2, 0, 0, 0",
        "MaxInstanceCount\n                Value:       50, 0, 0, 0")
    res = gpresult_text.parse_text(text, "z.txt")
    reg = {r["name"]: r for r in _rows(res, "gpo:registry")}
    assert reg["AutoBackupLogFiles"]["value"] == "1" and reg["LicenseServers"]["value"] == "L"
    assert reg["MaxInstanceCount"]["value"] == 50 and reg["KeepAliveInterval"]["value"] == 60
    assert (reg["Mode"]["value"], reg["Mode"]["as_string"], reg["Mode"]["raw"]) == (65, "A", "41000000")
    w = [x for x in res.warnings if "one-character string" in x.message]
    assert [(x.locator, "Mode" in x.message, "'A'" in x.message) for x in w] == [
        (reg["Mode"]["locator"], True, True)]
    cfg = C.effective_config(tl.concat([tl.finalize_part(res.frame, source="gp.txt", host=None)]))
    assert C.value(cfg, "TS2003", "MaxInstanceCount") == 50
    assert C.value(cfg, "TS2003", "LicenseServers") == ["L"]


def test_a_distinguished_name_with_escaped_commas_is_read_whole():
    """'CN=Smith\\, John,OU=...' was cut at the backslash-comma: the user's name became
    'Smith\\' (found by review). DN components are read with RFC 4514's escapes undone."""
    text = ("RSOP data for CORP\\jsmith on TS01 : Logging Mode\n\nCOMPUTER SETTINGS\n"
            "------------------\n    CN=TS01,OU=R\\+D \\2C Lab,OU=HQ,DC=corp,DC=example\n\n"
            "USER SETTINGS\n--------------\n"
            "    CN=Smith\\, John \\\"JJ\\\",OU=Caf\\C3\\A9\\\\Bar,OU=Staff,DC=corp,DC=example\n")
    res = gpresult_text.parse_text(text, "z.txt")
    subj = {r["scope"]: r for r in _rows(res, "gpo:subject")}
    assert subj["user"]["name"] == 'Smith, John "JJ"'
    assert subj["user"]["som"] == "corp.example/Staff/Caf\u00e9\\Bar"
    assert subj["computer"]["name"] == "TS01" and res.meta["host"] == "TS01"
    assert subj["computer"]["som"] == "corp.example/HQ/R+D , Lab"
    assert gpresult_text.dn_parts("CN=x,no dn here") is None


def test_a_computer_name_with_an_escaped_comma_is_the_host():
    text = ("RSOP data for CORP\\admin on TS01 : Logging Mode\n\nCOMPUTER SETTINGS\n"
            "------------------\n    CN=TS\\2C01,DC=corp,DC=example\n")
    res = gpresult_text.parse_text(text, "z.txt")
    assert _rows(res, "gpo:subject")[0]["name"] == "TS,01"
