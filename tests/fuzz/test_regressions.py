"""Crashes the fuzzer found, pinned before they were fixed (one test per finding)."""
from __future__ import annotations

import pytest

import parsers
from parsers.base import ParseOptions, ParserError


def _parse_all_backends(mod, path):
    for backend in ("rust", "python"):
        try:
            res = mod.parse(path, ParseOptions(evtx_backend=backend))
        except ParserError:
            continue
        assert res.records == 0


@pytest.mark.parametrize("data", [
    b"ElfFile\x00",                                   # fuzz: header signature only (Rust OSError)
    b"ElfFile\x00" + b"\x00" * 100,                   # header cut short
])
def test_issue_fuzz_evtx_truncated_header(tmp_path, data):
    p = tmp_path / "x.evtx"
    p.write_bytes(data)
    _parse_all_backends(parsers.evtx, p)
