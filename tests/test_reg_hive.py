"""Raw regf hives: a tiny hive writer (the corpus has no hive) builds SYSTEM / SOFTWARE
files from the regf layout regipy documents, and the hive parser must read them back."""
from __future__ import annotations

import struct

import orjson

import parsers
from analyzer import config as C
from analyzer import timeline as tl
from parsers import hive

FILETIME_2024 = 133_500_000_000_000_000          # 2024-01-20 (100 ns since 1601)


class HiveWriter:
    """Writes a minimal valid regf file: one hbin, nk/vk/lf/value-list/data cells.

    ``tree`` is {"name": str, "values": [(name, type number, bytes)], "subkeys": [tree]}.
    Offsets are relative to the first hbin (file offset 4096), cells are 8-byte aligned and
    start with a negative int32 size, as in a real hive.
    """

    def __init__(self):
        self.buf = bytearray(32)                          # the hbin header, filled in at the end

    def cell(self, payload: bytes) -> int:
        off = len(self.buf)
        size = (4 + len(payload) + 7) & ~7
        self.buf += struct.pack("<i", -size) + payload + b"\0" * (size - 4 - len(payload))
        return off

    def key(self, tree: dict, parent: int = 0) -> int:
        name = tree["name"].encode("ascii")
        nk = self.cell(b"nk" + b"\0" * 74 + name)          # patched below
        subs = [self.key(t, nk) for t in tree.get("subkeys", [])]
        vals = [self.value(n, t, d) for n, t, d in tree.get("values", [])]
        sub_list = self.cell(b"lf" + struct.pack("<H", len(subs)) +
                             b"".join(struct.pack("<I4s", s, b"\0\0\0\0") for s in subs)) if subs else 0xFFFFFFFF
        val_list = self.cell(b"".join(struct.pack("<I", v) for v in vals)) if vals else 0xFFFFFFFF
        fields = struct.pack("<HQ4sIIIIIIIIIIIII4sHH", 0x20 | (0x4 if parent == 0 else 0),
                             FILETIME_2024, b"\0" * 4, parent, len(subs), 0, sub_list, 0xFFFFFFFF,
                             len(vals), val_list, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0, 0, 0, b"\0" * 4,
                             len(name), 0)
        self.buf[nk + 6: nk + 6 + len(fields)] = fields
        return nk

    def value(self, name: str, typ: int, data: bytes) -> int:
        n = name.encode("ascii")
        if len(data) <= 4:
            size, offset = 0x80000000 | len(data), int.from_bytes(data.ljust(4, b"\0"), "little")
        else:
            size, offset = len(data), self.cell(data)
        return self.cell(b"vk" + struct.pack("<HIIIHH", len(n), size, offset, typ, 1 if n else 0, 0) + n)

    def build(self, root: dict, file_name: str) -> bytes:
        self.key(root)
        total = (len(self.buf) + 4095) // 4096 * 4096
        free = total - len(self.buf)
        if free:
            self.buf += struct.pack("<i", free) + b"\0" * (free - 4)
        self.buf[0:32] = b"hbin" + struct.pack("<IIIIQI", 0, total, 0, 0, 0, 0)
        head = bytearray(b"regf" + struct.pack("<IIQIIIIIII", 1, 1, FILETIME_2024, 1, 5, 0, 1, 32, total, 1))
        head += file_name.encode("utf-16-le").ljust(64, b"\0") + b"\0" * 396
        checksum = 0
        for i in range(0, 508, 4):
            checksum ^= struct.unpack_from("<I", head, i)[0]
        head += struct.pack("<I", checksum)
        return bytes(head.ljust(4096, b"\0") + self.buf)


def dword(v: int) -> tuple[int, bytes]:
    return 4, struct.pack("<I", v)


def sz(s: str, typ: int = 1) -> tuple[int, bytes]:
    return typ, s.encode("utf-16-le") + b"\0\0"


def value_data(res) -> list[dict]:
    """The data of the ``reg:value`` rows (a key without values has a ``reg:key`` row)."""
    return [orjson.loads(d) for et, d in zip(res.frame["event_type"], res.frame["data"])
            if et == "reg:value"]


def k(name, values=(), subkeys=()):
    return {"name": name, "values": [(n, *tv) for n, tv in values], "subkeys": list(subkeys)}


def system_tree(current: int = 2):
    def cs(port, layer):
        return k(f"ControlSet00{port[0]}", subkeys=[
            k("Control", subkeys=[
                k("Terminal Server", [("fDenyTSConnections", dword(0)), ("TSAppCompat", dword(0))], [
                    k("WinStations", subkeys=[k("RDP-Tcp", [
                        ("PortNumber", dword(port[1])), ("SecurityLayer", dword(layer)),
                        ("SSLCertificateSHA1Hash", (3, bytes(range(20)))),
                        ("WdName", sz("Microsoft RDP 8.0", 2))])]),
                    k("RCM", [("X509 Certificate", (3, b"\x30\x82" + bytes(60)))])]),
                k("Lsa", [("LmCompatibilityLevel", dword(5))], [k("FipsAlgorithmPolicy", [("Enabled", dword(1))])]),
            ]),
            k("Services", subkeys=[
                k("TermService", [("Start", dword(3)),
                                  ("DependOnService", (7, "RPCSS\0TermDD\0\0".encode("utf-16-le")))]),
                k("Tcpip", subkeys=[k("Parameters", [("EnableTCPChimney", dword(0))],
                                      [k("Interfaces", [("Ignored", dword(1))])])]),
            ]),
        ])
    return k("ROOT", subkeys=[
        k("Select", [("Current", dword(current)), ("Default", dword(current))]),
        cs((1, 3389), 1), cs((2, 3390), 2)])


def test_system_hive_reads_current_control_set(tmp_path):
    p = tmp_path / "SYSTEM"
    p.write_bytes(HiveWriter().build(system_tree(2), r"\SystemRoot\System32\Config\SYSTEM"))
    assert parsers.identify(p.read_bytes()[:65536], "SYSTEM") is hive
    res = hive.parse(p)
    assert res.warnings == []
    assert res.meta["control_set"] == "ControlSet002"
    vals = {(d["key"], d["name"]): d for d in value_data(res)}
    rdp = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp"
    assert vals[(rdp, "PortNumber")]["value"] == 3390
    assert vals[(rdp, "PortNumber")]["key_original"] == \
        r"HKLM\SYSTEM\ControlSet002\Control\Terminal Server\WinStations\RDP-Tcp"
    assert vals[(rdp, "SSLCertificateSHA1Hash")]["raw"] == bytes(range(20)).hex()
    assert (vals[(rdp, "WdName")]["type"], vals[(rdp, "WdName")]["value"]) == ("REG_EXPAND_SZ", "Microsoft RDP 8.0")
    svc = r"HKLM\SYSTEM\CurrentControlSet\Services\TermService"
    assert vals[(svc, "DependOnService")]["value"] == ["RPCSS", "TermDD"]
    assert vals[(svc, "Start")]["key_last_write"].startswith("2024-01-")
    # Tcpip\Parameters is read without its Interfaces subtree
    assert not [key for key, _ in vals if key.endswith("Interfaces")]
    assert (r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa", "LmCompatibilityLevel") in vals
    cfg = C.effective_config(tl.concat([tl.finalize_part(res.frame, source="SYSTEM", host="TS9")]))
    assert C.value(cfg, "TS9", "PortNumber") == 3390
    assert C.value(cfg, "TS9", "SecurityLayer") == 2
    assert C.value(cfg, "TS9", "FIPSAlgorithmPolicy") == 1
    assert C.value(cfg, "TS9", "CertificateValues") == ["X509 Certificate"]
    assert C.get(cfg, "TS9", "PortNumber")["locator"] == f"key {rdp}"


def test_software_hive_policies_and_os(tmp_path):
    tree = k("ROOT", subkeys=[
        k("Microsoft", subkeys=[k("Windows NT", subkeys=[k("CurrentVersion", [
            ("ProductName", sz("Windows Server 2016 Standard")), ("CurrentBuild", sz("14393"))])])]),
        k("Policies", subkeys=[k("Microsoft", subkeys=[k("Windows NT", subkeys=[
            k("Terminal Services", [("fDenyTSConnections", dword(1)), ("LicenseServers", sz("lic1,lic2"))])])])]),
    ])
    p = tmp_path / "SOFTWARE"
    p.write_bytes(HiveWriter().build(tree, r"emRoot\System32\Config\SOFTWARE"))
    res = hive.parse(p)
    assert res.warnings == [] and res.stats["hive"] == "SOFTWARE"
    assert res.meta["os"] == "Windows Server 2016 Standard" and res.meta["build"] == "14393"
    cfg = C.effective_config(tl.concat([tl.finalize_part(res.frame, source="SOFTWARE", host="TS9")]))
    row = C.get(cfg, "TS9", "fDenyTSConnections")
    assert (row["value"], row["origin"]) == (1, "policy")
    assert C.value(cfg, "TS9", "LicenseServers") == ["lic1", "lic2"]


def test_unknown_hive_and_damaged_hive_warn(tmp_path):
    p = tmp_path / "NTUSER.DAT"
    p.write_bytes(HiveWriter().build(k("ROOT", subkeys=[k("Console")]), r"\??\C:\Users\a\ntuser.dat"))
    res = hive.parse(p)
    assert len(res.frame) == 0 and "not recognised" in res.warnings[0].message
    bad = tmp_path / "bad"
    bad.write_bytes(b"regf" + b"\xff" * 100)
    res = hive.parse(bad)
    assert len(res.frame) == 0 and res.warnings and "cannot open hive" in res.warnings[0].message


def test_dirty_hive_missing_control_set_and_a_saved_terminal_server_key(tmp_path):
    """Gaps a review found: a hive copied in use (sequence numbers differ) said nothing, a
    Select\\Current naming a missing control set read nothing silently, and a `reg save` of
    the Terminal Server key was "hive type not recognised"."""
    data = bytearray(HiveWriter().build(system_tree(2), r"\SystemRoot\System32\Config\SYSTEM"))
    data[8:12] = struct.pack("<I", 7)                      # secondary sequence number
    p = tmp_path / "SYSTEM"
    p.write_bytes(bytes(data))
    res = hive.parse(p)
    assert [w.locator for w in res.warnings] == ["offset 0x4"]
    assert "dirty hive" in res.warnings[0].message
    assert len(res.frame) > 0

    p.write_bytes(HiveWriter().build(system_tree(3), r"\SystemRoot\System32\Config\SYSTEM"))
    res = hive.parse(p)
    assert any("names ControlSet003" in w.message and "read ControlSet001" in w.message
               for w in res.warnings)
    assert res.meta["control_set"] == "ControlSet001"
    cfg = C.effective_config(tl.concat([tl.finalize_part(res.frame, source="SYSTEM", host="H")]))
    assert C.value(cfg, "H", "SecurityLayer") == 1        # ControlSet001's, not the default

    ts = system_tree()["subkeys"][1]["subkeys"][0]["subkeys"][0]     # Control\Terminal Server
    q = tmp_path / "ts.hiv"
    q.write_bytes(HiveWriter().build(dict(ts, name="ROOT"), r"\??\C:\ts.hiv"))
    res = hive.parse(q)
    assert res.warnings == [] and res.stats["hive"] == "TS-KEY"
    cfg = C.effective_config(tl.concat([tl.finalize_part(res.frame, source="ts.hiv", host="H")]))
    assert C.value(cfg, "H", "PortNumber") == 3389 and C.value(cfg, "H", "TSAppCompat") == 0


def test_a_walk_stops_at_its_key_budget_and_keeps_what_it_read(tmp_path, monkeypatch):
    """A sub-key list pointing back at its own key (a damaged or crafted hive) made the walk
    grow as fan-out ** depth: an 8 KB hive ran out of time and lost fDenyTSConnections
    (found by review). The walk now has a key budget."""
    ts = system_tree()["subkeys"][1]["subkeys"][0]["subkeys"][0]     # Control\Terminal Server
    q = tmp_path / "ts.hiv"
    q.write_bytes(HiveWriter().build(dict(ts, name="ROOT"), r"\??\C:\ts.hiv"))
    monkeypatch.setattr(hive, "MAX_KEYS", 2)
    res = hive.parse(q)
    assert [w.message for w in res.warnings] == [
        "more than 2 keys in the hive's walks (a sub-key cycle in a damaged hive?); stopped"]
    names = {d["name"] for d in value_data(res)}
    assert "fDenyTSConnections" in names and "PortNumber" not in names


def test_a_damaged_value_cell_is_a_warning_not_a_silent_loss(tmp_path):
    """regipy stops a key's values at a cell it cannot parse and ends the iteration plainly:
    fDenyTSConnections and the values after it vanished without a warning (found by
    review). The key's own value count tells."""
    data = bytearray(HiveWriter().build(system_tree(1), r"\SystemRoot\System32\Config\SYSTEM"))
    i = data.find(b"vk\x12\x00")                       # fDenyTSConnections (18-letter name)
    assert data[i + 20:i + 38] == b"fDenyTSConnections"
    data[i:i + 2] = b"xx"
    p = tmp_path / "SYSTEM"
    p.write_bytes(bytes(data))
    res = hive.parse(p)
    assert [(w.locator, w.message) for w in res.warnings] == [(
        "key HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server",
        "2 of the key's 2 values could not be read (a damaged value cell)")]
    names = {d["name"] for d in value_data(res)}
    assert "PortNumber" in names and "fDenyTSConnections" not in names


def test_value_data_is_bounded_per_hive(tmp_path, monkeypatch):
    """A value list can name one big value cell thousands of times: an 800 KB hive asked for
    13 GB (found by review). The data a hive adds is bounded; what was read is kept."""
    monkeypatch.setattr(hive, "MAX_DATA_BYTES", 40)
    p = tmp_path / "SYSTEM"
    p.write_bytes(HiveWriter().build(system_tree(1), r"\SystemRoot\System32\Config\SYSTEM"))
    res = hive.parse(p)
    assert len(res.warnings) == 1 and "more than 40 bytes of value data" in res.warnings[0].message
    names = [d["name"] for d in value_data(res)]
    monkeypatch.setattr(hive, "MAX_DATA_BYTES", 16 << 20)
    full = [d["name"] for d in value_data(hive.parse(p))]
    assert 0 < len(names) < len(full) and names == full[:len(names)]


def test_a_value_regipy_skips_on_purpose_is_no_damage(tmp_path):
    # regipy skips values of type 0x200000 without a word: the key's count then exceeds what
    # was read, and the damaged-cell warning fired on a healthy hive (found by review)
    tree = system_tree(1)
    ts = tree["subkeys"][1]["subkeys"][0]["subkeys"][0]       # Control\Terminal Server
    ts["values"].append(("Odd", 0x200000, b"\x01\x02\x03\x04\x05"))
    p = tmp_path / "SYSTEM"
    p.write_bytes(HiveWriter().build(tree, r"\SystemRoot\System32\Config\SYSTEM"))
    res = hive.parse(p)
    assert res.warnings == []
    names = {d["name"] for d in value_data(res)}
    assert {"fDenyTSConnections", "TSAppCompat"} <= names and "Odd" not in names


def test_a_key_without_values_is_a_reg_key_row_with_its_last_write(tmp_path):
    """2003 names each license server by an empty subkey of TermService\\Parameters\\
    LicenseServers (KB301932 Method 1 / KB279561); the walk wrote rows for values only, so
    such a key vanished (found by review). It is a ``reg:key`` row now, and a key that holds
    values gets none."""
    tree = system_tree(1)
    svc = tree["subkeys"][1]["subkeys"][1]["subkeys"][0]            # ControlSet001\...\TermService
    assert svc["name"] == "TermService"
    svc["subkeys"].append(k("Parameters", subkeys=[k("LicenseServers", subkeys=[k("LS01")])]))
    p = tmp_path / "SYSTEM"
    p.write_bytes(HiveWriter().build(tree, r"\SystemRoot\System32\Config\SYSTEM"))
    res = hive.parse(p)
    assert res.warnings == []
    keys = [(loc, orjson.loads(d)) for et, loc, d in
            zip(res.frame["event_type"], res.frame["locator"], res.frame["data"]) if et == "reg:key"]
    lic = r"HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters\LicenseServers"
    assert [loc for loc, _ in keys] == [
        r"key HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations",
        r"key HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters",
        f"key {lic}", f"key {lic}\\LS01"]
    loc, d = keys[-1]
    assert {n: d[n] for n in ("hive", "key", "key_original")} == {
        "hive": "HKLM", "key": lic + "\\LS01",
        "key_original": r"HKLM\SYSTEM\ControlSet001\Services\TermService\Parameters\LicenseServers\LS01"}
    assert d["key_last_write"].startswith("2024-01-")
    assert set(res.frame[res.frame["event_type"] == "reg:key"]["kind"]) == {"reg"}
    # every other row is a value, as before
    assert len(value_data(res)) == len(res.frame) - 4
    cfg = C.effective_config(tl.concat([tl.finalize_part(res.frame, source="SYSTEM", host="TS9")]))
    row = C.get(cfg, "TS9", "LicenseServers")
    assert row["value"] == ["LS01"] and row["locator"] == f"key {lic}\\LS01"


def test_a_key_whose_values_could_not_be_read_says_so(tmp_path):
    """A ``reg:key`` row said "(key without values)" for a key whose value cells were
    damaged (found by review): its values are unknown, not absent."""
    data = bytearray(HiveWriter().build(system_tree(1), r"\SystemRoot\System32\Config\SYSTEM"))
    i = data.find(b"vk\x12\x00")                       # fDenyTSConnections (18-letter name)
    data[i:i + 2] = b"xx"
    p = tmp_path / "SYSTEM"
    p.write_bytes(bytes(data))
    res = hive.parse(p)
    ts = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server"
    keys = {loc: (msg, orjson.loads(d)) for et, loc, msg, d in zip(
        res.frame["event_type"], res.frame["locator"], res.frame["message"], res.frame["data"])
        if et == "reg:key"}
    msg, d = keys[f"key {ts}"]
    assert d["values"] == "unreadable" and msg == f"{ts} (no values shown: unreadable)"
    msg, d = keys[f"key {ts}\\WinStations"]            # truly empty: no reason given
    assert "values" not in d and msg == f"{ts}\\WinStations (no values shown)"
