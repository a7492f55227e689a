"""Write an N-record Security.evtx with a realistic event mix and print records/s.

    python benchmarks/gen_evtx.py -n 1000000 -o /tmp/Security-1M.evtx [--seed 0]

The mix imitates a busy member server's Security log: mostly service/network logons and
logoffs (4624/4634 type 3, 4672 special privileges, 4648, 4776 NTLM validation, 4798/4799
group enumeration, 5058/5061 key operations), with RDP activity sprinkled in — complete
type-10 logons with their type-3 NLA pre-authentication, 4778/4779 reconnect/disconnect,
4647 logoffs — and bursts of failed logons (4625, type 3 and 10) from a few addresses.
Deterministic for a seed; times advance from 2024-01-01 by a few hundred ms per record.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyzer.sample.evtxwriter import EvtxWriter, Guid, Hex32, Hex64, Sid  # noqa: E402

SEC = "Microsoft-Windows-Security-Auditing"
SEC_GUID = "{54849625-5478-4994-A5BA-3E3B0328C30D}"
T0 = 133485408000000000          # 2024-01-01T00:00:00Z as FILETIME
OK, FAIL = 0x8020000000000000, 0x8010000000000000
DOM = "S-1-5-21-1004336348-1177238915-682003330-"


_SHAPES = {
    4624: ([("SubjectUserSid", Sid), ("SubjectUserName", str), ("SubjectDomainName", str),
            ("SubjectLogonId", Hex64), ("TargetUserSid", Sid), ("TargetUserName", str),
            ("TargetDomainName", str), ("TargetLogonId", Hex64), ("LogonType", int),
            ("LogonProcessName", str), ("AuthenticationPackageName", str),
            ("WorkstationName", str), ("LogonGuid", Guid), ("TransmittedServices", str),
            ("LmPackageName", str), ("KeyLength", int), ("ProcessId", Hex64),
            ("ProcessName", str), ("IpAddress", str), ("IpPort", str),
            ("ImpersonationLevel", str), ("RestrictedAdminMode", str),
            ("TargetOutboundUserName", str), ("TargetOutboundDomainName", str),
            ("VirtualAccount", str), ("TargetLinkedLogonId", Hex64), ("ElevatedToken", str)],
           12544, 2, OK),
    4634: ([("TargetUserSid", Sid), ("TargetUserName", str), ("TargetDomainName", str),
            ("TargetLogonId", Hex64), ("LogonType", int)], 12545, 0, OK),
    4672: ([("SubjectUserSid", Sid), ("SubjectUserName", str), ("SubjectDomainName", str),
            ("SubjectLogonId", Hex64), ("PrivilegeList", str)], 12548, 0, OK),
    4776: ([("PackageName", str), ("TargetUserName", str), ("Workstation", str),
            ("Status", Hex32)], 14336, 0, OK),
    4798: ([("TargetUserName", str), ("TargetDomainName", str), ("TargetSid", Sid),
            ("SubjectUserSid", Sid), ("SubjectUserName", str), ("SubjectDomainName", str),
            ("SubjectLogonId", Hex64), ("CallerProcessId", Hex64), ("CallerProcessName", str)],
           13824, 0, OK),
    5058: ([("SubjectUserSid", Sid), ("SubjectUserName", str), ("SubjectDomainName", str),
            ("SubjectLogonId", Hex64), ("ProviderName", str), ("AlgorithmName", str),
            ("KeyName", str), ("KeyType", str), ("KeyFilePath", str), ("Operation", str),
            ("ReturnCode", Hex32)], 12290, 1, OK),
    4648: ([("SubjectUserSid", Sid), ("SubjectUserName", str), ("SubjectDomainName", str),
            ("SubjectLogonId", Hex64), ("LogonGuid", Guid), ("TargetUserName", str),
            ("TargetDomainName", str), ("TargetLogonGuid", Guid), ("TargetServerName", str),
            ("TargetInfo", str), ("ProcessId", Hex64), ("ProcessName", str), ("IpAddress", str),
            ("IpPort", str)], 12544, 0, OK),
    4625: ([("SubjectUserSid", Sid), ("SubjectUserName", str), ("SubjectDomainName", str),
            ("SubjectLogonId", Hex64), ("TargetUserSid", Sid), ("TargetUserName", str),
            ("TargetDomainName", str), ("Status", Hex32), ("FailureReason", str),
            ("SubStatus", Hex32), ("LogonType", int), ("LogonProcessName", str),
            ("AuthenticationPackageName", str), ("WorkstationName", str),
            ("TransmittedServices", str), ("LmPackageName", str), ("KeyLength", int),
            ("ProcessId", Hex64), ("ProcessName", str), ("IpAddress", str), ("IpPort", str)],
           12544, 0, FAIL),
    4778: ([("AccountName", str), ("AccountDomain", str), ("LogonID", Hex64),
            ("SessionName", str), ("ClientName", str), ("ClientAddress", str)], 12551, 0, OK),
}
_SHAPES[4779] = _SHAPES[4778]


def generate(n: int, seed: int = 0):
    """Yield ``n`` Security records as (event id, plain payload values)."""
    rng = random.Random(seed)
    rand = rng.random

    def rrange(a: int, b: int) -> int:               # cheaper than Random.randrange
        return a + int(rand() * (b - a))

    def choice(seq):
        return seq[int(rand() * len(seq))]
    users = [(f"user{i:03d}", DOM + str(1100 + i), f"10.20.{30 + i // 200}.{i % 200 + 10}")
             for i in range(400)]
    services = [("svc_backup", DOM + "1109", "10.20.0.7"), ("svc_sql", DOM + "1110", "10.20.0.9")]
    attackers = ["185.220.101.47", "45.155.205.3", "193.42.33.18"]
    zero = "{00000000-0000-0000-0000-000000000000}"
    svchost = "C:\\Windows\\System32\\svchost.exe"

    def logon(name, usid, ip, ltype, lpn, auth, lid_):
        local = ltype in (2, 10)
        return (4624, ["S-1-5-18" if local else "S-1-0-0", "TS01$" if local else "-",
                       "CONTOSO" if local else "-", 0x3E7 if local else 0, usid, name, "CONTOSO",
                       lid_, ltype, lpn, auth, "TS01", zero, "-",
                       "NTLM V2" if auth == "NTLM" else "-", 128 if auth == "NTLM" else 0,
                       0x49C if ltype == 10 else 0, svchost if ltype == 10 else "-", ip, "0",
                       "%%1833", "%%1843" if ltype == 10 else "-", "-", "-", "%%1843", 0,
                       "%%1842"])

    def logoff(name, usid, lid_, ltype):
        return (4634, [usid, name, "CONTOSO", lid_, ltype])

    def failed(name, ip, ltype):
        return (4625, ["S-1-0-0", "-", "-", 0, "S-1-0-0", name, "", 0xC000006D, "%%2313",
                       0xC0000064, ltype, "NtLmSsp ", "NTLM", "-", "-", "-", 0, 0, "-", ip, "0"])

    def station(eid, name, lid_, ip, sess):
        return (eid, [name, "CONTOSO", lid_, f"RDP-Tcp#{sess}", "WS-" + name.upper(), ip])

    pending: list = []
    lid = 0x3A1F20
    for _ in range(n):
        if pending:
            yield pending.pop()
            continue
        r = rand()
        lid += rrange(0x10, 0x400)
        if r < 0.30:                                   # service network logon + logoff
            name, usid, ip = choice(services)
            pending.append(logoff(name, usid, lid, 3))
            yield logon(name, usid, ip, 3, "Kerberos", "Kerberos", lid)
        elif r < 0.45:
            name, usid, _ = choice(services)
            yield (4672, [usid, name, "CONTOSO", lid,
                          "SeBackupPrivilege\r\n\t\t\tSeRestorePrivilege"])
        elif r < 0.58:
            name, usid, ip = choice(users)
            yield (4776, ["MICROSOFT_AUTHENTICATION_PACKAGE_V1_0", name, "WS-" + name.upper(), 0])
        elif r < 0.70:
            name, usid, _ = choice(users)
            yield (4798, [name, "TS01", usid, "S-1-5-18", "TS01$", "CONTOSO", 0x3E7, 0x1A2C, svchost])
        elif r < 0.80:
            yield (5058, ["S-1-5-18", "TS01$", "CONTOSO", 0x3E7,
                          "Microsoft Software Key Storage Provider", "UNKNOWN", "TSSecKeySet1",
                          "%%2499", "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys\\"
                          f"f686aace6942fb7f7ceb231212eef4a4_{rrange(0, 10**8)}", "%%2458", 0])
        elif r < 0.88:                                 # RDP logon with NLA, later logoff
            name, usid, ip = choice(users)
            nla = lid - 0x20
            sess = rrange(2, 60)
            pending += [logoff(name, usid, lid, 10), station(4779, name, lid, ip, sess),
                        station(4778, name, lid, ip, sess), station(4779, name, lid, ip, sess),
                        logon(name, usid, ip, 10, "User32 ", "Negotiate", lid),
                        logoff(name, usid, nla, 3)]
            yield logon(name, usid, ip, 3, "NtLmSsp ", "NTLM", nla)
        elif r < 0.996:
            name, usid, ip = choice(users)
            yield (4648, [usid, name, "CONTOSO", lid, zero, name, "CONTOSO", zero,
                          "fs01.contoso.com", "cifs/fs01.contoso.com", 4, "", "-", "-"])
        else:                                          # a burst of failures from one address
            ip = choice(attackers)
            ltype = choice((3, 10))
            pending += [failed(choice(("administrator", "admin", "test", "user")), ip, ltype)
                        for _ in range(rrange(3, 30))]
            yield pending.pop()


def write(path: Path, n: int, seed: int = 0) -> int:
    """Write the benchmark log; returns the number of records."""
    rng = random.Random(seed + 1)
    with EvtxWriter(path) as w:
        shapes = {}
        for eid, (fields, task, version, kw) in _SHAPES.items():
            names = tuple(f for f, _ in fields)
            types = tuple(t for _, t in fields)
            shapes[eid] = (w.shape(provider=SEC, provider_guid=SEC_GUID, names=names, types=types),
                           task, version, kw)
        ft = T0
        put = w.write
        tids = [rng.randrange(100, 9000, 4) for _ in range(61)]
        for i, (eid, values) in enumerate(generate(n, seed)):
            shape, task, version, kw = shapes[eid]
            put(shape, values, eid, ft, 0, task, kw, tids[i % 61], 660, "Security",
                "TS01.contoso.com", version)
            ft += 1_000_000 + (ft * 7919) % 5_000_000     # 0.1–0.6 s between records
        return w.records


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1_000_000, help="records to write")
    ap.add_argument("-o", "--output", type=Path, default=Path("Security-bench.evtx"))
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    t0, c0 = time.perf_counter(), time.process_time()
    write(a.output, a.n, a.seed)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    size = a.output.stat().st_size
    print(f"{a.n} records, {size / 2**20:.1f} MiB -> {a.output}")
    print(f"{a.n / wall:,.0f} records/s wall ({wall:.1f} s), {a.n / cpu:,.0f} records/s CPU ({cpu:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
