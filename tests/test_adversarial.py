"""Hostile bundles, generated at test time (never committed as binaries).

Each bundle is analysed in a fresh subprocess so that wall time and peak memory
(``VmHWM``) are the analysis' own; each must finish within 30 s and 1 GB on this 2-core
machine, name the offending member in the inventory (reason or warning), and still analyse
the good member that rides along.
"""
from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

GOOD_NAME = "HOST1_RegistryKeys/good.reg"
GOOD = ("Windows Registry Editor Version 5.00\r\n\r\n"
        "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server]\r\n"
        "\"fDenyTSConnections\"=dword:00000000\r\n").encode("utf-16")

RUNNER = textwrap.dedent("""
    import json, resource, sys, time
    import analyzer
    from analyzer.bundle import Limits
    limits = Limits(**json.loads(sys.argv[2]))
    t0 = time.monotonic()
    b = analyzer.load(sys.argv[1], limits=limits)
    wall = time.monotonic() - t0
    # (VmHWM: ru_maxrss survives fork + exec and would report pytest's own size)
    try:
        rss_mb = next(int(ln.split()[1]) for ln in open("/proc/self/status")
                      if ln.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    inv = b.inventory[["source", "status", "reason", "kind", "records", "warnings"]]
    print(json.dumps({"wall": wall, "rss_mb": rss_mb,
                      "inventory": json.loads(inv.to_json(orient="records")),
                      "warnings": [w.as_dict() for w in b.warnings],
                      "rows": len(b.timeline)}))
""")


def run(bundle: Path, **limits) -> dict:
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(bundle), json.dumps(limits)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["wall"] <= 30, f"took {out['wall']:.1f} s"
    assert out["rss_mb"] <= 1024, f"peak RSS {out['rss_mb']:.0f} MB"
    return out


def row(out: dict, source: str) -> dict:
    rows = [r for r in out["inventory"] if r["source"] == source]
    assert rows, f"{source!r} missing from inventory: {[r['source'] for r in out['inventory']]}"
    return rows[0]


def good_analysed(out: dict) -> None:
    r = row(out, GOOD_NAME)
    assert r["status"] == "parsed" and r["records"] >= 1


def flagged(out: dict, source: str) -> str:
    """The offending member is named: a non-parsed status with a reason, or warnings."""
    r = row(out, source)
    ws = [w["message"] for w in out["warnings"] if w["source"] == source]
    assert r["status"] != "parsed" or ws, r
    return (r["reason"] or "") + " | " + " | ".join(ws)


def test_zip_bomb_ratio(tmp_path):
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(GOOD_NAME, GOOD)
        with zf.open("zeros.bin", "w", force_zip64=True) as fh:
            for _ in range(1024):
                fh.write(b"\0" * (1 << 20))
    out = run(z)                                       # default limits
    assert "ratio" in flagged(out, "zeros.bin")
    good_analysed(out)


def test_zip_bomb_absolute_size(tmp_path):
    z = tmp_path / "big.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(GOOD_NAME, GOOD)
        zf.writestr("random.bin", os.urandom(12 << 20))   # incompressible: only size catches it
    out = run(z, max_member_bytes=8 << 20)
    assert "larger than" in flagged(out, "random.bin")
    out = run(z, max_total_bytes=4 << 20)
    assert "bundle larger than" in flagged(out, "random.bin")
    good_analysed(out)


def test_nested_zip_depth_bomb(tmp_path):
    data = b"x"
    for level in range(12):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(f"level{level}.zip" if level else "leaf.txt", data)
        data = buf.getvalue()
    z = tmp_path / "nest.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(GOOD_NAME, GOOD)
        zf.writestr("n.zip", data)
    out = run(z)
    assert any("nested deeper" in (r["reason"] or "") for r in out["inventory"])
    good_analysed(out)


def test_traversal_names_drive_unc_and_duplicates(tmp_path):
    z = tmp_path / "names.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(GOOD_NAME, GOOD)
        for name in ("../../etc/evil", "/abs/evil", "C:/Windows/evil", "C:\\Windows\\evil2",
                     "\\\\server\\share\\evil"):
            zf.writestr(name, b"evil")
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zf.writestr("dup.reg", GOOD)
            zf.writestr("dup.reg", GOOD)
    out = run(z)
    reasons = " ".join((r["reason"] or "") for r in out["inventory"])
    for needle in ("traversal", "absolute", "drive letter", "UNC"):
        assert needle in reasons
    dups = [r for r in out["inventory"] if r["source"].startswith("dup.reg")]
    assert len(dups) == 2 and {r["status"] for r in dups} == {"parsed"}
    assert len({r["source"] for r in dups}) == 2      # kept apart, both accounted for
    assert not (tmp_path.parent.parent / "etc" / "evil").exists()
    good_analysed(out)


def test_tar_symlinks_and_hardlinks(tmp_path):
    t = tmp_path / "links.tar"
    with tarfile.open(t, "w") as tf:
        ti = tarfile.TarInfo(GOOD_NAME)
        ti.size = len(GOOD)
        tf.addfile(ti, io.BytesIO(GOOD))
        for name, typ, target in (("sym", tarfile.SYMTYPE, "/etc/shadow"),
                                  ("hard", tarfile.LNKTYPE, "/etc/shadow")):
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname = typ, target
            tf.addfile(ti)
    out = run(t)
    assert "symbolic" in flagged(out, "sym")
    assert "hard link" in flagged(out, "hard")
    good_analysed(out)


def test_hundred_thousand_tiny_files(tmp_path):
    z = tmp_path / "many.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(GOOD_NAME, GOOD)
        for i in range(100_000):
            zf.writestr(f"t/{i:06d}.txt", b"x")
    out = run(z, max_members=20_000)
    assert any("more than 20000 files" in (r["reason"] or "") for r in out["inventory"])
    good_analysed(out)


def test_sparse_2gb_file_and_non_utf8_name(tmp_path):
    root = tmp_path / "bundle"
    (root / "HOST1_RegistryKeys").mkdir(parents=True)
    (root / GOOD_NAME).write_bytes(GOOD)
    with open(root / "sparse.evtx", "wb") as fh:
        fh.truncate(2 << 30)
    bad = os.fsencode(root) + b"/name-\xff\xfe.txt"
    with open(bad, "wb") as fh:
        fh.write(b"some text")
    out = run(root)
    assert row(out, "sparse.evtx")["status"] != "parsed"
    names = [r["source"] for r in out["inventory"]]
    assert any(n.startswith("name-") and "\\x" in n for n in names)
    json.dumps(out)  # everything printable
    good_analysed(out)


def test_xml_bomb_and_external_entity_in_gpresult(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-MARKER")
    lol = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10 if i else "lol"}">' for i in range(10))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE Rsop [{lol}]>'
            '<Rsop xmlns="http://www.microsoft.com/GroupPolicy/Rsop"><ReadTime>&l9;</ReadTime></Rsop>')
    xxe = (f'<?xml version="1.0"?><!DOCTYPE Rsop [<!ENTITY x SYSTEM "file://{secret}">]>'
           '<Rsop xmlns="http://www.microsoft.com/GroupPolicy/Rsop"><ComputerResults>'
           '<Name>&x;</Name></ComputerResults></Rsop>')
    z = tmp_path / "xml.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(GOOD_NAME, GOOD)
        zf.writestr("bomb.xml", bomb.encode())
        zf.writestr("xxe.xml", xxe.encode())
    out = run(z)
    assert "TOPSECRET-MARKER" not in json.dumps(out)
    for s in ("bomb.xml", "xxe.xml"):
        row(out, s)
    good_analysed(out)


def test_one_megabyte_single_line_netstat(tmp_path):
    text = ("\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address        State           PID\r\n"
            "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1234\r\n"
            "  TCP    " + "9" * (1 << 20) + "\r\n")
    z = tmp_path / "netstat.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(GOOD_NAME, GOOD)
        zf.writestr("HOST1_Networking/HOST1_Netstat.txt", text.encode("ascii"))
    out = run(z)
    r = row(out, "HOST1_Networking/HOST1_Netstat.txt")
    assert r["status"] == "parsed" and r["records"] >= 1
    assert any(w["source"].endswith("Netstat.txt") for w in out["warnings"])
    good_analysed(out)


def _evtx_header(chunks: int) -> bytes:
    h = bytearray(4096)
    h[0:8] = b"ElfFile\x00"
    struct.pack_into("<QQQIHHHH", h, 8, 0, chunks, 1, 128, 1, 3, 4096, chunks & 0xFFFF)
    return bytes(h)


def test_evtx_claiming_millions_of_chunks_and_all_chunk_magics(tmp_path):
    z = tmp_path / "evtx.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(GOOD_NAME, GOOD)
        zf.writestr("claims.evtx", _evtx_header(0xFFFF) + b"\0" * 65536)
        zf.writestr("magics.evtx", _evtx_header(64) + (b"ElfChnk\x00" * 8192) * 64)
    out = run(z)
    for s in ("claims.evtx", "magics.evtx"):
        r = row(out, s)
        assert r["records"] == 0
        flagged(out, s)
    good_analysed(out)


def test_evt_whose_record_lengths_loop(tmp_path):
    hdr = struct.pack("<I4sIIIIIIIIII", 0x30, b"LfLe", 1, 1, 0x30, 0x30, 5, 1, 0x10000, 0, 0, 0x30)
    # a record whose length field points back at itself (length 0 / header-sized loops)
    rec = struct.pack("<I4sI", 0, b"LfLe", 1) + b"\0" * 40
    loop = struct.pack("<I4s", 0x30, b"LfLe") * 200
    data = hdr + rec + loop
    data += b"\0" * (0x10000 - len(data))
    z = tmp_path / "evt.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(GOOD_NAME, GOOD)
        zf.writestr("SysEvent.Evt", data)
    out = run(z)
    row(out, "SysEvent.Evt")
    flagged(out, "SysEvent.Evt")
    good_analysed(out)
