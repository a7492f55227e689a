"""Bundle intake: archive safety, inventory completeness, host resolution."""
from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

import analyzer
from analyzer.bundle import Limits, host_from_path, safe_member_name

REG = ("Windows Registry Editor Version 5.00\r\n\r\n"
       "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp]\r\n"
       "\"PortNumber\"=dword:00000d3d\r\n").encode("utf-16")


def inv(bundle):
    return {r.source: r for r in bundle.inventory.itertuples()}


@pytest.mark.parametrize("name,ok", [
    ("a/b.txt", True), ("./a//b.txt", True), ("../evil", False), ("a/../../evil", False),
    ("/etc/passwd", False), ("C:\\Windows\\x", False), ("c:x", False), ("\\\\srv\\share\\x", False),
    ("", False), ("a\x00b", False),
])
def test_safe_member_name(name, ok):
    rel, why = safe_member_name(name)
    assert (rel is not None) == ok
    if not ok:
        assert why


def test_hostile_zip_members_are_refused_and_the_rest_is_analysed(tmp_path):
    zpath = tmp_path / "ticket.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("TS01_RegistryKeys/TS01_rdp.txt", REG)
        zf.writestr("../evil.txt", b"escape")
        zf.writestr("/abs/evil.txt", b"absolute")
        info = zipfile.ZipInfo("link-out")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
        # 1 GB of zeros, streamed so the test never holds it in memory
        with zf.open("zeros.bin", "w", force_zip64=True) as fh:
            block = b"\0" * (1 << 20)
            for _ in range(1024):
                fh.write(block)
    before = set(os.listdir(tmp_path))
    b = analyzer.load(zpath)
    rows = inv(b)
    reasons = {s: r.reason for s, r in rows.items()}
    assert "traversal" in reasons["../evil.txt"]
    assert "absolute" in reasons["/abs/evil.txt"]
    assert "symbolic link" in reasons["link-out"]
    assert "ratio" in reasons["zeros.bin"] or "limit" in reasons["zeros.bin"]
    for s in ("../evil.txt", "/abs/evil.txt", "link-out", "zeros.bin"):
        assert rows[s].status == "skipped"
    # nothing escaped next to the bundle or in its parent
    assert set(os.listdir(tmp_path)) == before
    assert not (tmp_path.parent / "evil.txt").exists()
    # the good member was analysed and belongs to the host its MSRD path names
    good = rows["TS01_RegistryKeys/TS01_rdp.txt"]
    assert good.status == "parsed" and good.kind == "reg" and good.records >= 1
    assert good.host == "TS01"
    assert (b.timeline["source"] == "TS01_RegistryKeys/TS01_rdp.txt").any()


def test_tar_links_and_traversal(tmp_path):
    tpath = tmp_path / "ticket.tar.gz"
    with tarfile.open(tpath, "w:gz") as tf:
        def add(name, data=b"", **kw):
            ti = tarfile.TarInfo(name)
            for k, v in kw.items():
                setattr(ti, k, v)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data) if data else None)
        add("ok/rdp.reg", REG)
        add("../../evil.reg", REG)
        add("sym", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        add("hard", type=tarfile.LNKTYPE, linkname="ok/rdp.reg")
        add("dev", type=tarfile.CHRTYPE)
    b = analyzer.load(tpath)
    rows = inv(b)
    assert rows["ok/rdp.reg"].status == "parsed"
    assert "traversal" in rows["../../evil.reg"].reason
    assert "symbolic" in rows["sym"].reason
    assert "hard link" in rows["hard"].reason
    assert rows["dev"].status == "skipped"


def test_nested_zip_and_depth_limit(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("rdp.txt", REG)
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr("attachments/inner.zip", inner.getvalue())
    b = analyzer.load(outer)
    rows = inv(b)
    assert rows["attachments/inner.zip"].kind == "archive"
    assert rows["attachments/inner.zip/rdp.txt"].status == "parsed"
    # with a depth limit of 1 the inner archive is refused, with a reason
    b1 = analyzer.load(outer, limits=Limits(max_depth=1))
    r1 = inv(b1)
    assert "nested" in r1["attachments/inner.zip"].reason
    assert "attachments/inner.zip/rdp.txt" not in r1


def test_folder_symlinks_not_followed_and_every_file_accounted(tmp_path):
    root = tmp_path / "bundle"
    (root / "SRV1_Networking").mkdir(parents=True)
    (root / "notes.bin").write_bytes(b"\x00\x01binary junk")
    (root / "empty.txt").write_bytes(b"")
    (root / "SRV1_Networking" / "rdp.reg").write_bytes(REG)
    outside = tmp_path / "secret.reg"
    outside.write_bytes(REG)
    (root / "link.reg").symlink_to(outside)
    b = analyzer.load(root)
    rows = inv(b)
    assert set(rows) == {"notes.bin", "empty.txt", "SRV1_Networking/rdp.reg", "link.reg"}
    assert rows["link.reg"].status == "skipped" and "symbolic" in rows["link.reg"].reason
    assert rows["notes.bin"].reason == "content not recognised by any parser"
    assert rows["empty.txt"].kind == "empty"
    assert rows["SRV1_Networking/rdp.reg"].host == "SRV1"
    assert all(r.sha256 for r in rows.values() if r.status == "parsed")


def test_corrupt_zip_is_an_inventory_row_not_a_crash(tmp_path):
    """Inside a bundle a corrupt zip is a failed inventory row; the bundle itself being a
    corrupt zip is unreadable input: one clear error (the CLI exits 3), not "NO DATA" and
    exit 0 (found by review)."""
    (tmp_path / "b").mkdir()
    z = tmp_path / "b" / "broken.zip"
    z.write_bytes(b"PK\x03\x04" + b"\xff" * 200)
    (tmp_path / "b" / "qwinsta.txt").write_text(
        " SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE\n"
        " rdp-tcp                                 65536  Listen\n", encoding="utf-8")
    b = analyzer.load(tmp_path / "b")
    row = inv(b)["broken.zip"]
    assert row.status == "failed" and "zip" in row.reason
    assert inv(b)["qwinsta.txt"].status == "parsed"
    with pytest.raises(analyzer.BundleError, match="broken.zip: corrupt zip"):
        analyzer.load(z)


def test_missing_bundle_raises_bundle_error(tmp_path):
    with pytest.raises(analyzer.BundleError):
        analyzer.load(tmp_path / "nope.zip")


def test_member_limit(tmp_path):
    z = tmp_path / "many.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for i in range(30):
            zf.writestr(f"f{i:03d}.txt", b"x")
    b = analyzer.load(z, limits=Limits(max_members=10))
    reasons = b.inventory["reason"].tolist()
    assert any("more than 10 files" in r for r in reasons)
    assert (b.inventory["source"].str.startswith("f")).sum() == 11  # 10 read + the notice row


@pytest.mark.parametrize("path,host", [
    ("TS01_EventLogs/TS01_System.evtx", "TS01"),
    ("x/WEB-02_Networking/WEB-02_Netstat.txt", "WEB-02"),
    ("DC1_Gpresult.html", "DC1"),
    ("logs/System.evtx", None),
])
def test_host_from_msrd_layout(path, host):
    assert host_from_path(path) == host


def test_command_output_beyond_the_sniffed_head_of_a_text_file_is_found(tmp_path):
    """A diag log that starts with hundreds of KB of other output (``ipconfig
    /displaydns``) was "content not recognised": the netstat below it was never read."""
    from analyzer import bundle as B
    dns = "".join(f"    host{i}.contoso.com\n    ----------------------------------------\n"
                  f"    Record Name . . . . . : host{i}.contoso.com\n"
                  f"    A (Host) Record . . . : 10.0.{i // 250}.{i % 250}\n\n"
                  for i in range(3000))
    assert len(dns) > B.HEAD_BYTES
    net = ("\nActive Connections\n\n"
           "  Proto  Local Address          Foreign Address        State           PID\n"
           "  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       900\n"
           "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       2412\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "diag.log").write_text(dns + net, encoding="utf-8")
    b = analyzer.load(tmp_path / "b")
    row = inv(b)["diag.log"]
    assert (row.kind, row.status) == ("textlog", "parsed")
    socks = b.timeline[b.timeline["event_type"] == "net:socket"]
    assert sorted(socks["port"]) == [135, 3389]
    # the same file in a zip gets the same deeper look (it was "not recognised": review)
    with zipfile.ZipFile(tmp_path / "b.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(tmp_path / "b" / "diag.log", "diag.log")
    zb = analyzer.load(tmp_path / "b.zip")
    row = inv(zb)["diag.log"]
    assert (row.kind, row.status) == ("textlog", "parsed")
    assert sorted(zb.timeline.loc[zb.timeline["event_type"] == "net:socket", "port"]) == [135, 3389]
    # a long text with no command output in it stays unrecognised, loose or zipped
    (tmp_path / "b" / "diag.log").write_text(dns, encoding="utf-8")
    row = inv(analyzer.load(tmp_path / "b"))["diag.log"]
    assert (row.status, row.reason) == ("skipped", "content not recognised by any parser")
    with zipfile.ZipFile(tmp_path / "b.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(tmp_path / "b" / "diag.log", "diag.log")
    row = inv(analyzer.load(tmp_path / "b.zip"))["diag.log"]
    assert (row.status, row.reason, row.size) == ("skipped", "content not recognised by any "
                                                  "parser", len(dns))
