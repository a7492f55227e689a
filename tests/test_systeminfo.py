"""systeminfo: English 2003/2008 R2, German, French, Spanish, Russian labels, /fo csv.

Hand-written fixtures (no real capture in the corpus), see fixtures/text/README.md.
"""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest

import parsers
from parsers import systeminfo

FIX = Path(__file__).parent / "fixtures" / "text"


@pytest.mark.parametrize("name,host,ver,build,sp,tz_start", [
    ("systeminfo_2008r2_en.txt", "TS01", "6.1.7601", 7601, 1, "(UTC-08:00) Pacific"),
    ("systeminfo_2003_en.txt", "OLDTS", "5.2.3790", 3790, 2, "(GMT-05:00) Eastern"),
    ("systeminfo_de_cp850.txt", "SRV-DE01", "10.0.17763", 17763, None, "(UTC+01:00) Amsterdam"),
    ("systeminfo_fr_cp1252.txt", "SRV-FR01", "10.0.14393", 14393, None, "(UTC+01:00) Bruxelles"),
    ("systeminfo_es_utf16.txt", "SRV-ES01", "10.0.20348", 20348, None, "(UTC+01:00) Bruselas"),
    ("systeminfo_ru_cp866.txt", "SRV-RU01", "6.3.9600", 9600, None, "(UTC+03:00) Москва"),
    ("systeminfo_fo_csv.csv", "TS01", "6.1.7601", 7601, 1, "(UTC-08:00) Pacific"),
])
def test_host_and_os(name, host, ver, build, sp, tz_start):
    p = FIX / name
    assert parsers.identify(p.read_bytes(), "x.txt") is systeminfo
    res = systeminfo.parse(p)
    assert len(res.frame) == 1 and res.warnings == []
    m = res.meta
    assert (m["host"], m["os_version"], m["build"], m.get("service_pack")) == (host, ver, build, sp)
    assert m["time_zone"].startswith(tz_start)
    assert "Windows" in m["os_name"]
    row = res.frame.iloc[0]
    assert row["host"] == host and row["event_type"] == "sysinfo:host"
    assert row["locator"] == "line 3"  # first label line; for csv the data row


def test_2008r2_details():
    res = systeminfo.parse(FIX / "systeminfo_2008r2_en.txt")
    d = orjson.loads(res.frame["data"].iloc[0])
    assert d["boot_time"] == "6/1/2012, 8:12:46 AM" and res.meta["boot_time"] == d["boot_time"]
    assert d["domain"] == "contoso.com" and d["system_type"] == "x64-based PC"
    assert d["hotfixes"] == ["KB2479943", "KB2491683", "KB976902"] and d["hotfix_count"] == 3
    assert d["os_name"] == "Microsoft Windows Server 2008 R2 Enterprise"
    assert d["labels"]["Virtual Memory: Max Size"] == "8,189 MB"


def test_2003_uptime_instead_of_boot_time():
    d = orjson.loads(systeminfo.parse(FIX / "systeminfo_2003_en.txt").frame["data"].iloc[0])
    assert d["boot_time"] is None and d["uptime"].startswith("0 Days, 5 Hours")
    assert "KB948496" in d["hotfixes"]


def test_localized_boot_time_and_domain():
    d = orjson.loads(systeminfo.parse(FIX / "systeminfo_de_cp850.txt").frame["data"].iloc[0])
    assert d["boot_time"] == "01.06.2023, 08:12:46" and d["domain"] == "contoso.local"
    d = orjson.loads(systeminfo.parse(FIX / "systeminfo_fr_cp1252.txt").frame["data"].iloc[0])
    assert d["domain"] == "contoso.fr" and d["logon_server"] == "\\\\DC02"


def test_unknown_language_by_position():
    txt = ("Nazwa hosta X:              PL01\n"
           "Nazwa systemu X:            Microsoft Windows Server 2019 Standard\n"
           "Wersja systemu X:           10.0.17763 Nie dotyczy Kompilacja 17763\n"
           "Producent systemu X:        Microsoft Corporation\n")
    assert systeminfo.sniff_text(txt)
    res = systeminfo.parse_text(txt, "x")
    assert res.meta["host"] == "PL01" and res.meta["build"] == 17763


def test_not_systeminfo():
    assert not systeminfo.sniff_text("Host: a\nfoo: b\n")
    res = systeminfo.parse_text("just some text\n", "x")
    assert len(res.frame) == 0 and res.warnings


def test_csv_outputs_of_different_widths_and_a_truncated_record():
    """Two ``/fo csv`` outputs in one file, the second with one more column (2016 added
    Hyper-V Requirements): its host was dropped without a word. A record whose width does
    not match its header is now a warning."""
    import csv
    text = (FIX / "systeminfo_fo_csv.csv").read_text(encoding="utf-8-sig")
    header, record = [ln for ln in text.splitlines() if ln.startswith('"')][:2]
    first = next(csv.reader([record]))[0]
    wider = (header + ',"Hyper-V Requirements"\n'
             + record.replace(f'"{first}"', '"TS02"', 1) + ',"A hypervisor has been detected."')
    cut = record.rsplit('","', 3)[0] + '"'
    n_cut, n_wide = len(next(csv.reader([cut]))), len(next(csv.reader([header]))) + 1
    res = systeminfo.parse_text("\n".join([header, record, "", wider, cut]), "s.csv")
    assert list(res.frame["host"]) == [first, "TS02"]
    assert [(w.locator, w.message) for w in res.warnings] == [
        ("line 6", f"systeminfo CSV record with {n_cut} fields under a header of {n_wide} "
                   "skipped (truncated?)")]


def test_an_empty_hotfix_list_is_known_empty():
    """"0 Hotfix(s) Installed." is a list known to be empty (KB948496 absent), not one
    that was cut off: the count is kept (found by review)."""
    text = ("Host Name:                 TS03\n"
            "OS Name:                   Microsoft(R) Windows(R) Server 2003, Standard Edition\n"
            "OS Version:                5.2.3790 Service Pack 2 Build 3790\n"
            "Hotfix(s):                 0 Hotfix(s) Installed.\n"
            "Network Card(s):           1 NIC(s) Installed.\n")
    d = orjson.loads(systeminfo.parse_text(text, "x").frame["data"].iloc[0])
    assert d["hotfixes"] == [] and d["hotfix_count"] == 0 and d["service_pack"] == 2


@pytest.mark.timeout(60)
def test_a_long_run_of_blanks_is_rejected_in_linear_time():
    # 'Host Name: a' + 65,000 blanks + 'b' took 45 s per zip member to sniff (the value's
    # lazy match before \s*$, and qwinsta's row shape): a 751-byte zip of three such members
    # held intake for minutes, outside any watchdog (found by review). With 200,000 blanks
    # the old patterns take many minutes; the guard is the test's timeout, not a benchmark.
    import parsers
    for text in ("Host Name: a" + " " * 200_000 + "b\r\n",
                 "rdp-tcp" + " " * 200_000 + "1 Listen\r\n"):
        for enc in ("utf-8", "utf-16"):
            assert parsers.identify(text.encode(enc), "x.txt") is None
    m = systeminfo._LINE.match("OS Name:                   Microsoft Windows Server 2022   ")
    assert m.group("label") == "OS Name" and m.group("value") == "Microsoft Windows Server 2022"
    m = systeminfo._LINE.match("Hotfix(s):   ")
    assert m.group("label") == "Hotfix(s)" and m.group("value") is None
    assert systeminfo._LINE.match("Host Name:TS01") is None
