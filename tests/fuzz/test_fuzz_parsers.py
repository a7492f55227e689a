"""Fuzzing every registered parser: arbitrary bytes and mutations of real/generated seeds.

The short run here is part of every test run (bounded by ``RDPDOCTOR_FUZZ_EXAMPLES``,
default 40 examples per parser and strategy, ≤ 2 minutes in all). A long local campaign:

    RDPDOCTOR_FUZZ_EXAMPLES=20000 python -m pytest tests/fuzz -q -p no:cacheprovider

Contract checked: ``parse`` returns a ParseResult whose frame has exactly the timeline
columns and dtypes, or raises a ``parsers.ParserError`` — never anything else; ``sniff``
and ``identify`` never raise. A crash found here becomes a regression test
(``tests/fuzz/test_regressions.py``) before it is fixed.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import parsers
from parsers.base import TIMELINE_DTYPES, ParseOptions, ParserError
from conftest import corpus_dir

EXAMPLES = int(os.environ.get("RDPDOCTOR_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                suppress_health_check=list(HealthCheck), database=None)

SEED_MAX = 96 * 1024  # seeds are cut to this size so one example stays fast


def _seeds() -> list[bytes]:
    seeds: list[bytes] = []
    c = corpus_dir()
    if c is not None:
        for p in sorted(c.rglob("*")):
            if p.is_file() and p.suffix != ".md":
                seeds.append(p.read_bytes()[:SEED_MAX])
    fx = Path(__file__).resolve().parents[1] / "fixtures"
    if fx.is_dir():
        for p in sorted(fx.rglob("*")):
            if p.is_file() and p.suffix not in (".md", ".py", ".json"):
                seeds.append(p.read_bytes()[:SEED_MAX])
    return seeds


SEEDS = _seeds()


def _mutate(data: bytes, rnd: random.Random, n: int) -> bytes:
    b = bytearray(data)
    for _ in range(n):
        if not b:
            b.extend(rnd.randbytes(rnd.randint(1, 64)))
            continue
        op = rnd.randrange(6)
        i = rnd.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << rnd.randrange(8)
        elif op == 1:
            b[i:i] = rnd.randbytes(rnd.randint(1, 32))
        elif op == 2:
            del b[i:i + rnd.randint(1, 256)]
        elif op == 3:
            del b[i:]
        elif op == 4:
            j = rnd.randrange(len(b))
            b[i:i] = b[j:j + rnd.randint(1, 512)]
        else:
            b[i:i + 4] = rnd.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"])
    return bytes(b)


def _check(mod, path: Path) -> None:
    try:
        res = mod.parse(path, ParseOptions())
    except ParserError:
        return
    assert list(res.frame.columns) == list(TIMELINE_DTYPES)
    for col, dtype in TIMELINE_DTYPES.items():
        assert str(res.frame[col].dtype) == dtype, (mod.INFO.name, col, res.frame[col].dtype)
    for w in res.warnings:
        assert w.locator is not None and w.message


@pytest.mark.parametrize("mod", parsers.PARSERS, ids=lambda m: m.INFO.name)
@FUZZ
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes(mod, data, tmp_path_factory):
    p = tmp_path_factory.mktemp("fz") / "input.bin"
    p.write_bytes(data)
    mod.sniff(data, "input.bin")
    parsers.identify(data, "input.bin")
    _check(mod, p)


@pytest.mark.skipif(not SEEDS, reason="no seed files (corpus absent and no fixtures yet)")
@FUZZ
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), n=st.integers(min_value=1, max_value=8))
def test_mutated_seeds_through_the_matching_parser(seed, n, tmp_path_factory):
    rnd = random.Random(seed)
    data = _mutate(rnd.choice(SEEDS), rnd, n)
    p = tmp_path_factory.mktemp("fz") / "input.bin"
    p.write_bytes(data)
    mod = parsers.identify(data[:65536], "input.bin")
    if mod is None:
        return
    _check(mod, p)
