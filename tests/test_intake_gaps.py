"""Gaps in taking in text outputs (found by review, "noticed and left alone"): a known
command output below the first lines of a text file smaller than the 64 KiB head, loose or
in an archive, and the deep text look of archive members."""
from __future__ import annotations

import zipfile

import pytest

import analyzer
from analyzer import timeline as tl


def inv(bundle):
    return {r.source: r for r in bundle.inventory.itertuples()}


def ipconfig_all(size: int) -> str:
    """``ipconfig /all`` as cmd prints it (CRLF), about ``size`` characters long: output
    rdpdoctor reads no command from."""
    out = ["\r\nWindows IP Configuration\r\n\r\n"
           "   Host Name . . . . . . . . . . . . : TS01\r\n"
           "   Primary Dns Suffix  . . . . . . . : contoso.com\r\n"
           "   Node Type . . . . . . . . . . . . : Hybrid\r\n"
           "   IP Routing Enabled. . . . . . . . : No\r\n\r\n"]
    i = 0
    while sum(map(len, out)) < size:
        out.append(f"Ethernet adapter Ethernet {i}:\r\n\r\n"
                   "   Connection-specific DNS Suffix  . : contoso.com\r\n"
                   f"   Description . . . . . . . . . . . : Intel(R) 82574L Gigabit Network "
                   f"Connection #{i}\r\n"
                   f"   Physical Address. . . . . . . . . : 00-15-5D-01-{i % 256:02X}-0A\r\n"
                   "   DHCP Enabled. . . . . . . . . . . : Yes\r\n"
                   f"   IPv4 Address. . . . . . . . . . . : 10.0.{i % 250}.5(Preferred)\r\n"
                   "   Lease Obtained. . . . . . . . . . : Tuesday, May 14, 2024 9:58:02 AM\r\n"
                   f"   Default Gateway . . . . . . . . . : 10.0.{i % 250}.1\r\n\r\n")
        i += 1
    return "".join(out)


REG_PROMPT = 'C:\\>reg query "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server" /s\r\n'
REG = ("\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\r\n"
       "    fDenyTSConnections    REG_DWORD    0x1\r\n"
       "    fSingleSessionPerUser    REG_DWORD    0x1\r\n\r\n"
       "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations"
       "\\RDP-Tcp\r\n"
       "    PortNumber    REG_DWORD    0xd3d\r\n"
       "    SecurityLayer    REG_DWORD    0x2\r\n\r\n"
       "End of search: 4 match(es) found.\r\n")


def encode(text: str, enc: str) -> bytes:
    # cmd.exe `>` writes the OEM code page; PowerShell 5's `>`/Out-File UTF-16LE with a BOM
    return b"\xff\xfe" + text.encode("utf-16-le") if enc == "utf-16" else text.encode(enc)


def diag_log(total: int, enc: str, prompt: str = REG_PROMPT) -> bytes:
    """ipconfig /all, then the reg query: ``total`` characters in all (± one adapter)."""
    text = "C:\\>ipconfig /all\r\n"
    text += ipconfig_all(total - len(REG) - len(prompt) - len(text) - 400)
    return encode(text + prompt + REG, enc)


def reg_values(b) -> dict[str, object]:
    rows = b.timeline[b.timeline["event_type"] == "reg:value"]
    d = tl.fields(rows, "name", "value")
    return dict(zip(d["name"], d["value"]))


def load_both(tmp_path, data: bytes, name: str = "diag.log"):
    """(loose bundle, zipped bundle) of one file."""
    folder = tmp_path / "loose"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    with zipfile.ZipFile(tmp_path / "b.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return analyzer.load(folder), analyzer.load(tmp_path / "b.zip")


@pytest.mark.parametrize("enc,kib", [("cp437", 9), ("cp437", 32), ("cp437", 63),
                                     ("utf-16", 9), ("utf-16", 31)])
def test_reg_query_below_ipconfig_in_a_file_smaller_than_the_head(tmp_path, enc, kib):
    """A collection log of 8-64 KiB whose `reg query` follows output rdpdoctor does not
    read was "content not recognised": the regquery sniffer reads the first 8 KiB (of
    text: 16 KiB of UTF-16), and the deeper look ran only on files longer than the 64 KiB
    head."""
    data = diag_log(kib * 1024, enc)
    assert abs(len(data) - kib * 1024 * (2 if enc == "utf-16" else 1)) < 6 * 1024
    assert len(data) < 65536
    for b in load_both(tmp_path, data):
        row = inv(b)["diag.log"]
        assert (row.kind, row.status, row.parser) == ("textlog", "parsed", "textlog")
        vals = reg_values(b)
        assert vals == {"fDenyTSConnections": 1, "fSingleSessionPerUser": 1,
                        "PortNumber": 3389, "SecurityLayer": 2}


@pytest.mark.parametrize("kib", [7, 65, 1900])
def test_reg_query_below_ipconfig_around_the_thresholds(tmp_path, kib):
    """Below 8 KiB the regquery sniffer already saw it; above 64 KiB the deeper look did;
    both stay as they were (a 7 KiB file is a reg query file, a bigger one a textlog)."""
    data = diag_log(kib * 1024, "cp437")
    for b in load_both(tmp_path, data):
        row = inv(b)["diag.log"]
        assert (row.kind, row.status) == (("reg" if kib < 8 else "textlog"), "parsed")
        assert reg_values(b)["PortNumber"] == 3389


@pytest.mark.parametrize("first", ["netstat", "qwinsta"])
def test_reg_query_after_another_known_output_and_ipconfig(tmp_path, first):
    """netstat / qwinsta at the top, pages of ipconfig, then the reg query: both read."""
    top = {"netstat": ("\r\nActive Connections\r\n\r\n"
                       "  Proto  Local Address          Foreign Address        State           PID\r\n"
                       "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       2412\r\n"
                       "  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       900\r\n"),
           "qwinsta": (" SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE\r\n"
                       " services                                    0  Disc\r\n"
                       ">console           Administrator             1  Active\r\n"
                       " rdp-tcp                                 65536  Listen\r\n")}[first]
    text = f"C:\\>{first}\r\n" + top + "C:\\>ipconfig /all\r\n" + ipconfig_all(20000) + REG_PROMPT + REG
    for b in load_both(tmp_path, text.encode("cp437")):
        assert (inv(b)["diag.log"].kind, inv(b)["diag.log"].status) == ("textlog", "parsed")
        assert reg_values(b)["PortNumber"] == 3389
        assert (b.timeline["kind"] == first).sum() == (2 if first == "netstat" else 3)


def test_reg_query_deep_in_a_small_file_without_its_prompt_stays_unread(tmp_path):
    """In a text shorter than the sniffed head (64 KiB) an output further down counts only
    under a prompt or banner naming its command: a note of that size quotes outputs by
    their own shape as often (the trade-off: a bare log of that size stays unread, and the
    inventory says so). Longer files keep the deeper look by shape."""
    data = diag_log(20 * 1024, "cp437", prompt="")
    for b in load_both(tmp_path, data):
        assert (inv(b)["diag.log"].kind, inv(b)["diag.log"].status) == ("unknown", "skipped")
    data = diag_log(80 * 1024, "cp437", prompt="")
    for b in load_both(tmp_path, data):
        assert inv(b)["diag.log"].kind == "textlog"
        assert reg_values(b)["fDenyTSConnections"] == 1


def _prose(n: int) -> str:
    return "".join(f"Line {i} of the notes: check the server, then the client, then retry.\r\n"
                   for i in range(n))


#: Notes, READMEs and KB copies of ~20 KB quoting outputs by their shape, below their first
#: lines (found by review: each made a false critical finding once short files got the
#: deeper look by shape).
QUOTING = {
    "readme.md": _prose(280) + "Example of what users see:\r\n\r\n```\r\n"
    " SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE\r\n"
    " rdp-tcp#3         carol                     2  Active\r\n"
    " rdp-tcp#4         dave                      5  Disc\r\n```\r\n" + _prose(20),
    "runbook.md": _prose(280) + "If the server is in drain mode you will see:\r\n\r\n"
    "    Session logins are currently DISABLED\r\n\r\nRun `change logon /enable`.\r\n"
    + _prose(20),
    "kb.md": _prose(280) + "Save this as fix.reg:\r\n\r\n```\r\n"
    "Windows Registry Editor Version 5.00\r\n\r\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server]\r\n"
    "\"fDenyTSConnections\"=dword:00000001\r\n```\r\n" + _prose(20),
}


@pytest.mark.parametrize("name", sorted(QUOTING))
def test_a_short_note_quoting_an_output_stays_unrecognised(tmp_path, name):
    data = QUOTING[name].encode("cp437")
    assert 8192 < len(data) < 65536
    for b in load_both(tmp_path, data, name):
        assert (inv(b)[name].kind, inv(b)[name].status) == ("unknown", "skipped")
        assert len(b.timeline) == 0


UNRELATED = {
    # ipconfig alone: nothing rdpdoctor reads
    "ipconfig.txt": ipconfig_all(30000),
    # a script that quotes one line of `change logon /query` in a string, far from its top
    "check.ps1": "".join(f"Write-Host 'step {i}: checking the server configuration'\r\n"
                         for i in range(400))
    + "if ($out -notmatch 'ENABLED') { Write-Host \"it must say session logins are ENABLED.\" }\r\n"
    + "".join(f"Write-Host 'step {i}'\r\n" for i in range(30)),
    # a runbook naming a logon state in prose, 25 lines before its end
    "runbook.txt": "".join(f"Line {i} of the runbook: restart the service if needed.\r\n"
                           for i in range(300))
    + "When new user logons are DISABLED the server is in drain mode.\r\n"
    + "".join(f"Line {i}: more text.\r\n" for i in range(25)),
}


@pytest.mark.parametrize("name", sorted(UNRELATED))
def test_an_unrelated_text_stays_unrecognised(tmp_path, name):
    data = UNRELATED[name].encode("cp437")
    assert 8192 < len(data) < 65536
    for b in load_both(tmp_path, data, name):
        row = inv(b)[name]
        assert (row.kind, row.status, row.reason) == (
            "unknown", "skipped", "content not recognised by any parser")
        assert row.size == len(data)
        assert len(b.timeline) == 0


# ----------------------------------------------------------------------------- item 3


def _dns_cache(n: int) -> str:
    """``ipconfig /displaydns``: long, and nothing rdpdoctor reads."""
    return "".join(f"    host{i}.contoso.com\r\n    ----------------------------------------\r\n"
                   f"    Record Name . . . . . : host{i}.contoso.com\r\n"
                   f"    A (Host) Record . . . : 10.0.{i // 250}.{i % 250}\r\n\r\n"
                   for i in range(n))


NETSTAT = ("\r\nActive Connections\r\n\r\n"
           "  Proto  Local Address          Foreign Address        State           PID\r\n"
           "  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       900\r\n"
           "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       2412\r\n")


def _archive(tmp_path):
    dns = _dns_cache(3000).encode()
    assert len(dns) > 65536
    z = tmp_path / "b.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("logs/dns1.txt", dns)
        zf.writestr("logs/dns2.txt", dns.replace(b"host1.", b"hostX.", 1))
        zf.writestr("logs/diag.log", dns + NETSTAT.encode())
        zf.writestr("logs/blob.bin", bytes(range(256)) * 400)
        zf.writestr("logs/note.txt", b"call back on Monday\r\n")
    return z


def test_archive_members_deep_look_runs_in_the_parse_workers(tmp_path, monkeypatch):
    """With parallel parsing, an unrecognised text member longer than the head is written
    for the parse stage's deeper look instead of being read up to 2 MiB, decoded and
    searched one member after another in the intake (30 such logs: seconds of a serial
    intake; review). Binary members and short texts are not written."""
    from analyzer import bundle as B

    looked = []
    monkeypatch.setattr(B, "_deep_text_in", lambda data, short=False: looked.append(len(data)))
    (tmp_path / "t").mkdir()
    intake = B._Intake(B.Limits(), tmp_path / "t", defer_deep_look=True)
    intake.add_zip(_archive(tmp_path), "", 1)
    got = {m.source: m for m in intake.members}
    # only the binary member (no text: turned down on its head) and the short text (all of
    # it in hand) are looked at in the intake
    assert sorted(looked) == [len(b"call back on Monday\r\n"), 256 * 400]
    for name in ("logs/dns1.txt", "logs/dns2.txt", "logs/diag.log"):
        assert got[name].real_path is not None and got[name].real_path.is_relative_to(tmp_path / "t")
        assert got[name].real_path.stat().st_size == got[name].size
    for name in ("logs/blob.bin", "logs/note.txt"):
        assert (got[name].real_path, got[name].kind, got[name].reason) == (
            None, "unknown", "content not recognised by any parser")


def test_archive_inventory_is_the_same_whether_the_deep_look_runs_in_intake_or_workers(tmp_path):
    z = _archive(tmp_path)
    serial, parallel = analyzer.load(z, workers=1), analyzer.load(z, workers=2)
    cols = ["source", "size", "sha256", "kind", "parser", "status", "reason", "records", "host"]
    a = serial.inventory[cols].sort_values("source").reset_index(drop=True)
    b = parallel.inventory[cols].sort_values("source").reset_index(drop=True)
    assert a.equals(b)
    rows = inv(parallel)
    for name in ("logs/dns1.txt", "logs/dns2.txt", "logs/blob.bin", "logs/note.txt"):
        assert (rows[name].kind, rows[name].status, rows[name].reason) == (
            "unknown", "skipped", "content not recognised by any parser")
    assert (rows["logs/diag.log"].kind, rows["logs/diag.log"].records) == ("textlog", 2)
    socks = parallel.timeline[parallel.timeline["event_type"] == "net:socket"]
    assert sorted(socks["port"]) == [135, 3389]


def test_the_deeper_look_judges_a_bounded_number_of_blocks(monkeypatch):
    """Thousands of tables quoted in a source file, each turned down by its sniffer: each
    was sniffed on 400 lines (50 s for 2 MiB, in the serial intake too). The deeper look
    judges at most DEEP_BLOCKS blocks, each on its own lines and the 20 after them."""
    from parsers import qwinsta, textlog

    unit = ('        " SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE\\n"\n'
            '        " services                                    0  Disc\\n"\n'
            '        ">console           Administrator             1  Active\\n"\n'
            '        " rdp-tcp                                 65536  Listen\\n"\n\nfiller line\n')
    text = unit * 1000
    seen = []
    real = qwinsta.sniff_text
    monkeypatch.setattr(qwinsta, "sniff_text", lambda t: seen.append(t.count("\n") + 1) or real(t))
    assert textlog.sniff_deep(text) is False
    assert len(seen) == textlog.DEEP_BLOCKS and max(seen) <= 4 + 20
    # a real output among the first blocks is still found
    assert textlog.sniff_deep(unit * 10 + "C:\\>qwinsta\n" + unit.replace('"', " ").replace("\\n", ""))


@pytest.mark.parametrize("name", ["readme.md", "kb.md"])
def test_an_output_in_a_code_fence_of_a_long_note_stays_unrecognised(tmp_path, name):
    """Over the 64 KiB head the deeper look still takes an output by its shape, but never
    one inside a Markdown code fence: no command prints a fence line, a README or KB copy
    does (found by review: a 70 KB README quoting qwinsta gave a false critical)."""
    text = _prose(1100) + QUOTING[name]
    data = text.encode("cp437")
    assert len(data) > 65536
    for b in load_both(tmp_path, data, name):
        assert (inv(b)[name].kind, inv(b)[name].status) == ("unknown", "skipped")
    # the same output unfenced (a log) is read
    plain = text.replace("```\r\n", "")
    for b in load_both(tmp_path, plain.encode("cp437"), name):
        assert inv(b)[name].kind == "textlog"


@pytest.mark.parametrize("intro,read", [
    ("[reg query HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server /s]\r\n", True),
    ("==========\r\n reg query \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\" /s"
     "\r\n==========\r\n", True),                                   # a banner box
    ("===== reg query =====\r\nFri 11/27/2026 15:04:15.12\r\n", True),  # banner, then its time
    ("[TS22]: PS C:\\Users\\adm> reg query 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal"
     " Server' /s\r\n", True),                                      # Enter-PSSession transcript
    ("C:\\Windows\\system32>reg.exe query \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal"
     " Server\" /s\r\n", True),                                     # reg.exe for reg
    ("## reg query\r\n\r\n", False),                                # a README's Markdown heading
    ("Run reg query to see the values:\r\n", False),                # prose naming the command
])
def test_how_a_short_log_may_introduce_its_output(tmp_path, intro, read):
    """Under the 64 KiB head an output further down counts under the prompts, banners and
    labels collection scripts write (found by review: seven real forms were missed), not
    under a README heading or a sentence."""
    data = diag_log(30 * 1024, "cp437", prompt=intro)
    for b in load_both(tmp_path, data):
        row = inv(b)["diag.log"]
        if read:
            assert (row.kind, row.status) == ("textlog", "parsed")
            assert reg_values(b)["fDenyTSConnections"] == 1
        else:
            assert (row.kind, row.status) == ("unknown", "skipped")


WHOAMI_PRIVILEGES = (
    "\r\nPRIVILEGES INFORMATION\r\n----------------------\r\n\r\n"
    "Privilege Name                            Description                                "
    "                        State\r\n"
    "========================================= =========================================="
    "======================== ========\r\n"
    "SeIncreaseQuotaPrivilege                  Adjust memory quotas for a process        "
    "                        Disabled\r\n"
    "SeSecurityPrivilege                       Manage auditing and security log          "
    "                        Disabled\r\n"
    "SeShutdownPrivilege                       Shut down the system                      "
    "                        Disabled\r\n\r\n")


def test_whoami_privileges_are_no_tasklist_block():
    """`whoami /all` draws its privileges table as tasklist draws its own (words over
    ===== rules): it was a 0-record tasklist block, and with one real output below it a
    log was a textlog by its first lines — whatever the other rules say (found by review)."""
    from parsers import tasklist, textlog
    from parsers import text as T
    lines = T.split_lines(WHOAMI_PRIVILEGES)
    assert tasklist.block_spans(lines) == []
    assert textlog.find_blocks(lines) == []
