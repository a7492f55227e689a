"""Property tests: the text parsers never raise on arbitrary bytes or damaged fixtures.

The documented failure path is a ParseWarning in the result (or, for sniffing, False); the
only exception a parser may let escape is parsers.base.ParserError.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings, strategies as st

from parsers import chglogon, netstat, powercfg, qwinsta, systeminfo, tasklist, textlog
from parsers.base import TIMELINE_COLUMNS, ParserError, ParseResult
from parsers.text import decode

FIX = Path(__file__).parent / "fixtures" / "text"
MODULES = (netstat, tasklist, qwinsta, systeminfo, powercfg, chglogon, textlog)
FIXTURES = sorted(p for p in FIX.iterdir() if p.suffix in (".txt", ".csv", ".log"))
SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _check(res: ParseResult) -> None:
    assert isinstance(res, ParseResult)
    assert tuple(res.frame.columns) == TIMELINE_COLUMNS
    assert res.frame["locator"].isna().sum() == 0 or len(res.frame) == 0
    for loc in res.frame["locator"]:
        assert loc.startswith("line ")


def _run_all(data: bytes, mod) -> None:
    """Sniff with every text parser; parse file and decoded text with ``mod``."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.txt"
        p.write_bytes(data)
        text = decode(data).text
        for m in MODULES:
            assert m.sniff(data[:65536], "f.txt") in (True, False)
            assert m.sniff_text(text) in (True, False)
        try:
            _check(mod.parse(p))
            _check(mod.parse_text(text, "f.txt", None, line_offset=7))
        except ParserError:
            pass


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from(MODULES))
def test_arbitrary_bytes(data, mod):
    _run_all(data, mod)


_LINE_PIECES = st.sampled_from([
    "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1668",
    "  UDP    [::]:3389              *:*                                    1668",
    "  TCP    [fe80::1%9]:x   [::]:0  ABHÖREN", "  TermService", " [svchost.exe]",
    " Can not obtain ownership information", "========================= ======== ====",
    "Image Name                     PID Services", "svchost.exe                   1668 TermService,",
    "                                   RpcSs", '"svchost.exe","1668","TermService"',
    " SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE",
    " rdp-tcp                                 65536  Listen", ">console   x   1  Active",
    "Host Name:                 TS01", "OS Version:                6.1.7601 Service Pack 1",
    "Time Zone:                 (UTC-08:00) Pacific", "", "Image Name:   x", "PID:   99999999999999999999",
    "Session logins are currently ENABLED", "Session logins are currently DISAB",
    "New user logons are DISABLED, but reconnections to existing sessions are ENABLED",
])


@SETTINGS
@given(st.lists(st.one_of(_LINE_PIECES, st.text(max_size=40)), max_size=30),
       st.sampled_from(["utf-8", "utf-16", "cp866", "gbk"]), st.sampled_from(MODULES))
def test_arbitrary_line_soup(lines, enc, mod):
    text = "\r\n".join(lines)
    _run_all(text.encode(enc, "replace"), mod)


@SETTINGS
@given(st.sampled_from(FIXTURES), st.sampled_from(MODULES), st.data())
def test_mutated_fixtures(path, mod, data):
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 12))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]))
        if not raw:
            break
        i = data.draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[i] = data.draw(st.integers(0, 255))
        elif op == "insert":
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del raw[i:i + data.draw(st.integers(1, 40))]
        elif op == "truncate":
            del raw[i:]
        else:
            j = data.draw(st.integers(i, min(len(raw), i + 200)))
            raw[j:j] = raw[i:j]
    _run_all(bytes(raw), mod)


def test_fixtures_parse_cleanly():
    """Every undamaged fixture parses with at least one row and no warning."""
    import parsers
    for p in FIXTURES:
        mod = parsers.identify(p.read_bytes()[:65536], p.name)
        assert mod is not None, p.name
        res = mod.parse(p)
        assert len(res.frame) > 0 and res.warnings == [], (p.name, res.warnings)
        assert isinstance(res.frame, pd.DataFrame)
