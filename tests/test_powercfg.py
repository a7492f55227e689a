"""powercfg: 2003 /query table (English, German), 2008+ /q GUID list (English UTF-16, German
with /list), /a sleep states, cut last lines, look-alikes, and blocks inside a diag log.

Hand-written fixtures (fixtures/text/powercfg_*, see its README.md) shaped after real output
quoted in blog posts and Q&A threads (sources in parsers/powercfg.py's docstring).
"""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest

import parsers
from parsers import powercfg, textlog

FIX = Path(__file__).parent / "fixtures" / "text"
SLEEP = "29f6c1db-86da-48c5-9fdb-f2b67b1f44da"
HIBERNATE = "9d7815a6-7ee4-497e-8888-515a05f02364"


def settings(res) -> dict[str, dict]:
    out = {}
    for et, d in zip(res.frame["event_type"], res.frame["data"]):
        if et == "powercfg:setting":
            d = orjson.loads(d)
            out[d["setting"]] = d
    return out


@pytest.mark.parametrize("name", sorted(p.name for p in FIX.glob("powercfg_*")))
def test_fixtures_are_identified_by_content_and_parse_cleanly(name):
    p = FIX / name
    assert parsers.identify(p.read_bytes()[:65536], "notes.txt") is powercfg
    res = powercfg.parse(p)
    assert len(res.frame) and res.warnings == []
    f = res.frame
    assert set(f["kind"]) == {"powercfg"} and f["time"].isna().all() and f["host"].isna().all()
    assert f["locator"].str.match(r"^line \d+$").all()


def test_2003_query_english():
    res = powercfg.parse(FIX / "powercfg_query_2003_en.txt")
    s = settings(res)
    assert set(s) == {"monitor", "disk", "standby", "hibernate", "throttle"}
    st = s["standby"]
    assert (st["scheme"], st["scheme_id"], st["format"]) == ("Home/Office Desk", 0, "query-2003")
    assert (st["ac"], st["dc"], st["ac_original"]) == (1800, 300, "After 30 mins")
    assert (s["hibernate"]["ac"], s["hibernate"]["dc"]) == (0, 1200)      # Never / 20 min
    assert (s["disk"]["ac"], s["monitor"]["ac"]) == (0, 1200)
    assert s["throttle"]["ac"] is None and s["throttle"]["ac_original"] == "ADAPTIVE"
    loc = res.frame.set_index(res.frame["data"].str.contains('"standby"'))["locator"][True]
    assert loc == "line 11"                     # the System standby (AC) line


def test_2003_query_german_by_position():
    s = settings(powercfg.parse(FIX / "powercfg_query_2003_de_cp850.txt"))
    assert s["standby"]["scheme"] == "Dauerbetrieb" and s["standby"]["scheme_id"] == 3
    assert (s["standby"]["ac"], s["hibernate"]["ac"], s["hibernate"]["dc"]) == (0, 0, 0)
    assert (s["monitor"]["ac"], s["monitor"]["dc"], s["disk"]["dc"]) == (1200, 900, 1800)
    assert s["throttle"]["ac"] is None and s["throttle"]["ac_original"] == "Nicht unterstützt"


def test_2016_query_utf16_by_guid():
    res = powercfg.parse(FIX / "powercfg_q_2016_utf16.txt")
    assert res.stats["encoding"] == "utf-16-le"
    s = settings(res)
    assert set(s) == {"disk", "standby", "hybrid_sleep", "hibernate", "wake_timers", "monitor"}
    st = s["standby"]
    assert (st["scheme"], st["scheme_guid"]) == ("Balanced", "381b4222-f694-41f0-9685-ff5bb260df2e")
    assert (st["setting_guid"], st["label"], st["unit"]) == (SLEEP, "Sleep after", "seconds")
    assert (st["ac"], st["dc"], st["ac_original"]) == (1800, 900, "0x00000708")
    assert st["active"] is None                 # no /list or /getactivescheme beside it
    assert (s["hibernate"]["ac"], s["hybrid_sleep"]["ac"], s["wake_timers"]["ac"]) == (0, 0, 1)
    assert (s["monitor"]["ac"], s["disk"]["ac"]) == (600, 1200)
    # CONSOLELOCK (no subgroup) is not a setting rdpdoctor reads
    assert len(res.frame) == 6


def test_german_list_marks_the_active_scheme_and_query_reads_by_guid():
    res = powercfg.parse(FIX / "powercfg_q_de_cp850.txt")
    schemes = [orjson.loads(d) for et, d in zip(res.frame["event_type"], res.frame["data"])
               if et == "powercfg:scheme"]
    assert [(d["scheme"], d["active"]) for d in schemes] == [
        ("Ausbalanciert", False), ("Höchstleistung", True), ("Energiesparmodus", False)]
    s = settings(res)
    assert (s["standby"]["ac"], s["hibernate"]["ac"], s["hibernate"]["dc"]) == (0, 3600, 0)
    assert s["hibernate"]["active"] is True and s["hibernate"]["scheme"] == "Höchstleistung"
    assert res.stats["by_position"] == 0        # German AC/DC words are known


def test_unknown_language_reads_ac_and_dc_by_position():
    t = ("Schéma: 8c5e7fda-e8bf-4a96-9a85-a6e23a8c635c  (Xyz)\r\n"
         "    Réglage: 29f6c1db-86da-48c5-9fdb-f2b67b1f44da  (Abc)\r\n"
         "      Min: 0x00000000\r\n      Max: 0xffffffff\r\n      Pas: 0x00000001\r\n"
         "    Valeur un: 0x00000e10\r\n    Valeur deux: 0x00000000\r\n")
    res = powercfg.parse_text(t, "x")
    assert (settings(res)["standby"]["ac"], settings(res)["standby"]["dc"]) == (3600, 0)
    assert res.stats["by_position"] == 1


def test_getactivescheme_line_names_the_active_scheme():
    t = ("Power Scheme GUID: 8c5e7fda-e8bf-4a96-9a85-a6e23a8c635c  (High performance)\r\n\r\n"
         + (FIX / "powercfg_q_2016_utf16.txt").read_bytes().decode("utf-16").split("\n", 1)[1])
    s = settings(powercfg.parse_text(t, "x"))
    assert s["standby"]["active"] is False      # /q showed Balanced; High performance is active


def test_available_sleep_states():
    res = powercfg.parse(FIX / "powercfg_a_2019.txt")
    d = orjson.loads(res.frame["data"].iloc[0])
    assert res.frame["event_type"].iloc[0] == "powercfg:sleep-states"
    assert d["available"] == ["S1"]
    assert d["unavailable"] == ["S2", "S3", "hibernate", "S0", "hybrid-sleep", "fast-startup"]
    assert d["hibernate"] is False and d["standby"] is True
    assert d["reasons"]["hibernate"] == ["Hibernation has not been enabled."]
    assert d["reasons"]["hybrid-sleep"] == ["Standby (S3) is not available.",
                                            "Hibernation is not available."]


def test_available_sleep_states_german_one_line_list():
    t = ("Die folgenden Standbymodusfunktionen sind auf diesem System verfügbar:\r\n"
         "    Standby ( S1 S3 )\r\n    Ruhezustand\r\n    Hybrider Standbymodus\r\n\r\n"
         "Die folgenden Standbymodusfunktionen sind auf diesem System nicht verfügbar:\r\n"
         "    Standby (S2)\r\n"
         "        Die Systemfirmware unterstützt diesen Standbymodus nicht.\r\n")
    assert powercfg.sniff_text(t)
    d = orjson.loads(powercfg.parse_text(t, "x").frame["data"].iloc[0])
    assert d["available"] == ["S1", "S3", "hibernate", "hybrid-sleep"]
    assert d["unavailable"] == ["S2"] and d["hibernate"] is True


def _cut(raw: bytes, text_end: str) -> bytes:
    i = raw.rindex(text_end.encode()) + len(text_end)
    return raw[:i]


def test_a_value_cut_at_the_end_of_the_file_is_not_read(tmp_path):
    raw = (FIX / "powercfg_q_de_cp850.txt").read_bytes()
    p = tmp_path / "cut.txt"
    p.write_bytes(_cut(raw, "Wechselstromeinstellung: 0x00000e10\r\n    "
                            "Index der aktuellen Gleichstromeinstellung: 0x0000"))
    res = powercfg.parse(p)
    assert "hibernate" not in settings(res)     # (AC alone is no setting: DC may be anything)
    assert any("'0x0000' may be cut" in w.message and w.locator == "line 28" for w in res.warnings)
    # the same line whole, though without its line break (a trimmed capture): read
    p.write_bytes(_cut(raw, "Gleichstromeinstellung: 0x00000000"))
    res = powercfg.parse(p)
    assert settings(res)["hibernate"]["ac"] == 3600 and res.warnings == []


def test_a_2003_value_cut_at_the_end_of_the_file_is_not_read(tmp_path):
    raw = (FIX / "powercfg_query_2003_en.txt").read_bytes()
    p = tmp_path / "cut.txt"
    p.write_bytes(_cut(raw, "System hibernates (DC)     After 2"))
    res = powercfg.parse(p)
    s = settings(res)
    assert s["hibernate"]["ac"] == 0 and s["hibernate"]["dc"] is None
    assert [w.locator for w in res.warnings] == ["line 14"]
    p.write_bytes(_cut(raw, "System hibernates (DC)     After 20 mins"))
    assert settings(powercfg.parse(p))["hibernate"]["dc"] == 1200


def test_utf16_with_bom_and_cut_half_character(tmp_path):
    raw = (FIX / "powercfg_q_2016_utf16.txt").read_bytes()
    end = "Current DC Power Setting Index: 0x0000012c".encode("utf-16-le")
    p = tmp_path / "u16.txt"
    p.write_bytes(raw[:raw.rindex(end) + len(end) - 3])     # "0x000001" and half a "2"
    res = powercfg.parse(p)
    assert "monitor" not in settings(res) and settings(res)["standby"]["ac"] == 1800
    assert any("may be cut" in w.message for w in res.warnings)


@pytest.mark.parametrize("text", [
    # PowerShell Format-Table with the same two-run ruler
    "\r\nName                           Value\r\n----                           -----\r\n"
    "ActivePowerScheme              381b4222-f694-41f0-9685-ff5bb260df2e\r\n"
    "Version                        3\r\nCount                          12\r\n"
    "Timeout                        30\r\nIdle                           After 20 mins\r\n"
    "Delay                          5\r\nNever                          Never\r\n\r\n",
    # Get-CimInstance Win32_PowerPlan | Format-List: a scheme GUID, but not powercfg's line
    "\r\nDescription : Automatically balances performance\r\nElementName : Balanced\r\n"
    "InstanceID  : Microsoft:PowerPlan\\{381b4222-f694-41f0-9685-ff5bb260df2e}\r\n"
    "IsActive    : True\r\n\r\n",
    # 2003 /list: names only
    "\r\nExisting Power Schemes\r\n----------------------\r\nHome/Office Desk\r\n"
    "Portable/Laptop\r\nPresentation\r\nAlways On\r\n",
    # some other tool's "label: GUID" lines
    "Volume GUID: 2c1a5f0e-1111-2222-3333-444455556666\r\nDisk GUID: "
    "9b1f2e3d-aaaa-bbbb-cccc-ddddeeeeffff\r\n",
])
def test_look_alikes_are_not_taken(text):
    assert not powercfg.sniff_text(text)
    assert parsers.identify(text.encode("cp437"), "powercfg.txt") is not powercfg
    assert len(powercfg.parse_text(text, "x").frame) == 0


def test_blocks_in_a_diag_log_keep_their_lines():
    q = (FIX / "powercfg_q_2016_utf16.txt").read_bytes().decode("utf-16").replace("\r\n", "\n")
    a = (FIX / "powercfg_a_2019.txt").read_text("cp437").replace("\r\n", "\n")
    net = ("\nActive Connections\n\n  Proto  Local Address          Foreign Address        State"
           "           PID\n  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING"
           "       1044\n\n")
    text = ("===== netstat -ano =====\n" + net + "===== powercfg /q =====\n"
            + q.split("\n", 1)[1] + "===== powercfg /a =====\n" + a.split("\n", 1)[1])
    assert textlog.sniff_text(text)
    res = textlog.parse_text(text, "diag.log", file_end=True)
    assert res.warnings == []
    kinds = [b["kind"] for b in res.stats["blocks"]]
    assert kinds == ["netstat", "powercfg", "powercfg"]
    f = res.frame
    st = f[f["data"].str.contains('"standby"', na=False)].iloc[0]
    lines = text.split("\n")
    n = int(st["locator"].split()[1])
    assert SLEEP in lines[n - 1]                # the locator is the line in the whole file
    assert (f["event_type"] == "powercfg:sleep-states").sum() == 1


def test_findstr_keeping_only_the_ac_lines_reads_ac():
    """`powercfg /q | findstr /c:"GUID" /c:"Current AC"` keeps each setting's AC line alone:
    AC is what a server's sleep depends on, and the setting was not read at all (found by
    the regression review)."""
    t = ("Power Scheme GUID: 381b4222-f694-41f0-9685-ff5bb260df2e  (Balanced)\r\n"
         "  Subgroup GUID: 238c9fa8-0aad-41ed-83f4-97be242c8f20  (Sleep)\r\n"
         f"    Power Setting GUID: {SLEEP}  (Sleep after)\r\n"
         "    Current AC Power Setting Index: 0x00000708\r\n"
         f"    Power Setting GUID: {HIBERNATE}  (Hibernate after)\r\n"
         "    Current AC Power Setting Index: 0x00000000\r\n")
    res = powercfg.parse_text(t, "x")
    s = settings(res)
    assert (s["standby"]["ac"], s["standby"]["dc"]) == (1800, None)
    assert s["standby"]["ac_original"] == "0x00000708" and s["standby"]["dc_original"] is None
    assert (s["hibernate"]["ac"], s["hibernate"]["dc"]) == (0, None)
    assert not res.warnings
