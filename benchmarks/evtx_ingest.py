"""Event-log ingest benchmark: raw readers vs rdpdoctor's timeline load, in one process run.

    python benchmarks/evtx_ingest.py                       # largest corpus file, then all
    python benchmarks/evtx_ingest.py FILE.evtx [...]       # these files (together)
    python benchmarks/evtx_ingest.py --generate 10000,100000   # generated Security logs
    python benchmarks/evtx_ingest.py --generate 10000 --kinds security,system,rdp
    python benchmarks/evtx_ingest.py --markdown            # tables for docs/performance.md

Rows (records/s and MB/s of file bytes; ratios to row (a), measured in the same run,
rounds interleaved, best of ``--repeat``):

  (a)  rust raw        evtx.PyEvtxParser(...).records_json(), strings only (reference)
  (a2) rust+orjson     the same, each record decoded with orjson
  (b)  pyevtx raw      python-evtx: walk records, read the template substitutions
  (b2) pyevtx xml      python-evtx record.xml() + lxml parse (sampled: --py-limit records)
  (c)  ours/rust       parsers.evtx.parse(..., evtx_backend="rust") → timeline frame
  (c') ours/python     parsers.evtx.parse(..., evtx_backend="python")
  ... +relevance       the same with analyzer.knowledge.relevance() (drops before decoding)
  ... workers=N        the same with ParseOptions.workers=N (process pool over chunks)

Peak memory: each row is run once more in a child process, which reports its peak resident
set (VmHWM), next to a child that only imports everything.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "corpus" / "evtx"


# --------------------------------------------------------------------------- methods


def _rust_records(path):
    """The Rust iterator, continuing after a bad record (what ``skip_errors`` does)."""
    from evtx import PyEvtxParser
    it = PyEvtxParser(str(path)).records_json()
    for _ in range(100000):
        try:
            yield from it
            return
        except (RuntimeError, ValueError):
            continue


def m_rust_raw(files, **_):
    n = 0
    for f in files:
        for _r in _rust_records(f):
            n += 1
    return n


def m_rust_orjson(files, **_):
    import orjson
    n = 0
    for f in files:
        for r in _rust_records(f):
            orjson.loads(r["data"])
            n += 1
    return n


def m_pyevtx_raw(files, limit=None, **_):
    from Evtx.Evtx import Evtx
    n = 0
    for f in files:
        with Evtx(str(f)) as log:
            for rec in log.records():
                try:
                    [v.string() for v in rec.root().substitutions()]
                except Exception:
                    pass
                n += 1
                if limit and n >= limit:
                    return n
    return n


def m_pyevtx_xml(files, limit=None, **_):
    import lxml.etree
    from Evtx.Evtx import Evtx
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    n = 0
    for f in files:
        with Evtx(str(f)) as log:
            for rec in log.records():
                try:
                    lxml.etree.fromstring(rec.xml().encode("utf-8"), parser)
                except Exception:
                    pass
                n += 1
                if limit and n >= limit:
                    return n
    return n


def _ours(files, backend, relevance=False, workers=1, **_):
    from parsers import evtx
    from parsers.base import ParseOptions
    rel = None
    if relevance:
        from analyzer import knowledge
        rel = knowledge.relevance()
    n = 0
    for f in files:
        res = evtx.parse(Path(f), ParseOptions(evtx_backend=backend, relevance=rel,
                                               workers=workers))
        n += res.stats["records"] + sum(res.stats["dropped"].values())
    return n


def m_noop(files, **_):
    import evtx  # noqa: F401
    import orjson  # noqa: F401
    import pandas  # noqa: F401

    import analyzer.knowledge  # noqa: F401
    import parsers.evtx  # noqa: F401
    return 0


def methods(workers: int, with_python: bool):
    rows = [
        ("(a) rust raw", m_rust_raw, {}),
        ("(a2) rust+orjson", m_rust_orjson, {}),
    ]
    if with_python:
        rows += [("(b) pyevtx raw", m_pyevtx_raw, {"sampled": False}),
                 ("(b2) pyevtx xml", m_pyevtx_xml, {"sampled": True})]
    rows += [("(c) ours/rust", _ours, {"backend": "rust"}),
             ("(c) ours/rust +relevance", _ours, {"backend": "rust", "relevance": True})]
    if workers > 1:
        rows += [(f"(c) ours/rust workers={workers}", _ours, {"backend": "rust", "workers": workers})]
    if with_python:
        rows += [("(c') ours/python", _ours, {"backend": "python"}),
                 ("(c') ours/python +relevance", _ours, {"backend": "python", "relevance": True})]
        if workers > 1:
            rows += [(f"(c') ours/python workers={workers}", _ours,
                      {"backend": "python", "workers": workers})]
    return rows


# --------------------------------------------------------------------------- measuring


def _call(fn, files, kw, limit):
    kw = dict(kw)
    sampled = kw.pop("sampled", None)
    return fn(files, limit=limit if sampled else None, **kw)


def peak_rss_mib() -> float:
    """This process's peak resident set. Linux: VmHWM of the current address space (the
    rusage maximum would include the parent's memory copied at fork, before exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024 * 1024 if sys.platform == "darwin" else 1024)


def run_child(name: str, files: list[str], limit: int, workers: int) -> float | None:
    """Peak RSS (MiB) of a child process running method ``name`` once (worker processes
    of ``workers=N`` rows are not included)."""
    cmd = [sys.executable, __file__, "--child", name, "--py-limit", str(limit),
           "--workers", str(workers), *files]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    return float(proc.stdout.strip().splitlines()[-1])


def bench(files: list[Path], repeat: int, limit: int, workers: int, memory: bool,
          with_python: bool = True) -> list[dict]:
    size = sum(f.stat().st_size for f in files)
    rows = methods(workers, with_python)
    best: dict[str, tuple[float, int]] = {}
    for _ in range(repeat):                   # interleaved rounds: load spikes hit all rows
        for name, fn, kw in rows:
            t = time.perf_counter()
            n = _call(fn, files, kw, limit)
            dt = time.perf_counter() - t
            if name not in best or dt < best[name][0]:
                best[name] = (dt, n)
    ref_rate = best["(a) rust raw"][1] / best["(a) rust raw"][0]
    out = []
    for name, fn, kw in rows:
        dt, n = best[name]
        rate = n / dt if dt else float("nan")
        frac = n / max(1, best["(a) rust raw"][1])
        out.append({"method": name, "records": n, "seconds": dt, "rec_s": rate,
                    "mb_s": size * min(1.0, frac) / dt / 1e6 if dt else float("nan"),
                    "ratio": rate / ref_rate,
                    "rss": run_child(name, [str(f) for f in files], limit, workers)
                    if memory else None})
    if memory:
        out.append({"method": "(baseline: imports only)", "records": 0, "seconds": 0,
                    "rec_s": None, "mb_s": None, "ratio": None,
                    "rss": run_child("noop", [str(f) for f in files], limit, workers)})
    return out


def render(title: str, rows: list[dict], markdown: bool) -> str:
    head = ["method", "records", "s", "records/s", "MB/s", "× (a)", "peak RSS MiB"]
    lines = []
    fmt = lambda v, f: "" if v is None else format(v, f)  # noqa: E731
    body = [[r["method"], str(r["records"]), fmt(r["seconds"], ".3f"), fmt(r["rec_s"], ",.0f"),
             fmt(r["mb_s"], ".2f"), fmt(r["ratio"], ".3f"), fmt(r["rss"], ".0f")] for r in rows]
    if markdown:
        lines.append(f"**{title}**\n")
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|")
        lines += ["| " + " | ".join(b) + " |" for b in body]
    else:
        widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
        lines.append(title)
        lines.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                               for i, (h, w) in enumerate(zip(head, widths))))
        lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(b, widths))) for b in body]
    return "\n".join(lines) + "\n"


def chart(sets: list[tuple[str, list[dict]]], path: Path) -> Path:
    """Horizontal bars of records/s as a ratio to the raw Rust iteration, one panel per set."""
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"       # text stays text: small, diffable SVG
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(sets), 1, figsize=(8, 0.45 * sum(len(r) for _, r in sets) + 1.2),
                             squeeze=False)
    for ax, (title, rows) in zip(axes[:, 0], sets):
        rows = [r for r in rows if r.get("ratio") is not None]
        names = [r["method"] for r in rows][::-1]
        vals = [r["ratio"] for r in rows][::-1]
        bars = ax.barh(names, vals, color=["#4c72b0" if "ours" in n else "#999999" for n in names])
        ax.set_xscale("log")
        ax.axvline(1.0, color="black", linewidth=0.8)
        for b, v in zip(bars, vals):
            ax.text(b.get_width(), b.get_y() + b.get_height() / 2, f" {v:.3g}×",
                    va="center", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
    axes[-1, 0].set_xlabel("records/s relative to (a) raw Rust JSON iteration (log scale)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def parse_markdown(text: str) -> list[tuple[str, list[dict]]]:
    """Read back the tables this script printed with --markdown (for --chart-from)."""
    sets: list[tuple[str, list[dict]]] = []
    for line in text.splitlines():
        if line.startswith("**") and line.endswith("**"):
            sets.append((line.strip("*"), []))
        elif line.startswith("| (") and sets:
            cells = [c.strip() for c in line.strip("|").split("|")]
            try:
                rate = float(cells[3].replace(",", ""))
            except ValueError:
                continue
            sets[-1][1].append({"method": cells[0], "rec_s": rate})
    for _, rows in sets:                    # ratios from records/s: more digits than the table
        ref = rows[0]["rec_s"] if rows else 1.0
        for r in rows:
            r["ratio"] = r["rec_s"] / ref
    return sets


# --------------------------------------------------------------------------- generated logs


#: Event mix of the generated Security log, shaped like a busy member server's audit log
#: (WFP connection audits and process creation dominate; logons are a minority), so the
#: relevance filter has realistic work: ~30% of the records are logon events it keeps.
MIX = ((5156, 0.38), (4688, 0.14), (4663, 0.08), (4769, 0.05), (5158, 0.03),
       (4624, 0.12), (4672, 0.08), (4634, 0.09), (4625, 0.02), (4648, 0.01))


def generate_security(path: Path, n: int, seed: int = 7) -> Path:
    """A Security.evtx of ``n`` records (event mix :data:`MIX`), written with the project's
    own writer (analyzer.sample.evtxwriter); logons carry type 3/10 and client addresses."""
    import bisect
    import random
    from datetime import datetime, timedelta, timezone

    from analyzer.sample.evtxwriter import Event, EvtxWriter, hex64, sid, u16

    rnd = random.Random(seed)
    t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    users = [f"user{i:03d}" for i in range(200)]
    ids, cum, acc = [], [], 0.0
    for eid, w in MIX:
        acc += w
        ids.append(eid)
        cum.append(acc)
    user_sid = sid("S-1-5-21-1004336348-1177238915-682003330-1001")
    system_sid = sid("S-1-5-18")

    def logon(eid, u, ip):
        lt = 10 if rnd.random() < 0.1 else 3
        return [("SubjectUserSid", system_sid), ("SubjectUserName", "TS01$"),
                ("SubjectDomainName", "CONTOSO"), ("SubjectLogonId", hex64(0x3E7)),
                ("TargetUserSid", sid("S-1-0-0") if eid == 4625 else user_sid),
                ("TargetUserName", u), ("TargetDomainName", "CONTOSO"),
                ("Status" if eid == 4625 else "TargetLogonId",
                 hex64(0xC000006D if eid == 4625 else rnd.getrandbits(32))),
                ("LogonType", lt), ("LogonProcessName", "User32 "),
                ("AuthenticationPackageName", "Negotiate"),
                ("WorkstationName", f"WS{rnd.randrange(999):03d}"),
                ("ProcessName", "C:\\Windows\\System32\\svchost.exe"),
                ("IpAddress", ip), ("IpPort", str(rnd.randrange(1024, 65535))),
                ("KeyLength", 0), ("ImpersonationLevel", "%%1833"),
                ("ElevatedToken", "%%1842"), ("TargetLinkedLogonId", hex64(0)),
                ("VirtualAccount", "%%1843"), ("RestrictedAdminMode", "-"),
                ("TransmittedServices", "-"), ("LmPackageName", "-"),
                ("ProcessId", hex64(0x2F4)),
                ("LogonGuid", "{00000000-0000-0000-0000-000000000000}")]

    def events():
        for i in range(n):
            t = t0 + timedelta(milliseconds=37 * i)
            eid = ids[min(len(ids) - 1, bisect.bisect(cum, rnd.random() * acc))]
            u = rnd.choice(users)
            ip = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
            if eid in (4624, 4625, 4648):
                data = logon(eid, u, ip)
            elif eid in (4672, 4634):
                data = [("SubjectUserSid" if eid == 4672 else "TargetUserSid", user_sid),
                        ("SubjectUserName" if eid == 4672 else "TargetUserName", u),
                        ("SubjectDomainName" if eid == 4672 else "TargetDomainName", "CONTOSO"),
                        ("SubjectLogonId" if eid == 4672 else "TargetLogonId",
                         hex64(rnd.getrandbits(32)))]
                data.append(("PrivilegeList", "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege")
                            if eid == 4672 else ("LogonType", 3))
            elif eid in (5156, 5158):
                data = [("ProcessID", rnd.randrange(4, 9000)),
                        ("Application", "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe"),
                        ("Direction", "%%14592"), ("SourceAddress", ip),
                        ("SourcePort", str(rnd.randrange(1024, 65535))),
                        ("DestAddress", "10.0.0.10"), ("DestPort", "445"), ("Protocol", 6),
                        ("FilterRTID", rnd.randrange(60000, 70000)),
                        ("LayerName", "%%14610"), ("LayerRTID", 44)]
            elif eid == 4688:
                data = [("SubjectUserSid", user_sid), ("SubjectUserName", u),
                        ("SubjectDomainName", "CONTOSO"),
                        ("SubjectLogonId", hex64(rnd.getrandbits(32))),
                        ("NewProcessId", hex64(rnd.randrange(4, 9000))),
                        ("NewProcessName", "C:\\Windows\\System32\\conhost.exe"),
                        ("TokenElevationType", "%%1938"),
                        ("ProcessId", hex64(rnd.randrange(4, 9000))),
                        ("CommandLine", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1"),
                        ("TargetUserSid", sid("S-1-0-0")), ("TargetUserName", "-"),
                        ("TargetDomainName", "-"), ("TargetLogonId", hex64(0)),
                        ("ParentProcessName", "C:\\Windows\\System32\\cmd.exe"),
                        ("MandatoryLabel", sid("S-1-16-8192"))]
            elif eid == 4663:
                data = [("SubjectUserSid", user_sid), ("SubjectUserName", u),
                        ("SubjectDomainName", "CONTOSO"),
                        ("SubjectLogonId", hex64(rnd.getrandbits(32))),
                        ("ObjectServer", "Security"), ("ObjectType", "File"),
                        ("ObjectName", f"D:\\Shares\\Data\\file{rnd.randrange(99999)}.docx"),
                        ("HandleId", hex64(rnd.getrandbits(16))), ("AccessList", "%%4416"),
                        ("AccessMask", hex64(1)), ("ProcessId", hex64(4)), ("ProcessName", "")]
            else:                                   # 4769 Kerberos service ticket
                data = [("TargetUserName", f"{u}@CONTOSO.COM"), ("TargetDomainName", "CONTOSO.COM"),
                        ("ServiceName", "TS01$"), ("ServiceSid", user_sid),
                        ("TicketOptions", hex64(0x40810000)), ("TicketEncryptionType", hex64(0x12)),
                        ("IpAddress", f"::ffff:{ip}"), ("IpPort", "0"), ("Status", hex64(0)),
                        ("LogonGuid", "{00000000-0000-0000-0000-000000000000}"),
                        ("TransmittedServices", "-")]
            yield Event(provider="Microsoft-Windows-Security-Auditing", event_id=eid,
                        time=t, channel="Security", computer="TS01.contoso.com", level=0,
                        provider_guid="{54849625-5478-4994-A5BA-3E3B0328C30D}",
                        task=u16(12544), process_id=724, thread_id=rnd.randrange(800, 9000),
                        keywords=0x8020000000000000 if eid != 4625 else 0x8010000000000000,
                        data=data)

    with EvtxWriter(path) as w:
        w.add_many(events())
    return path


def generate_system(path: Path, n: int, seed: int = 11) -> Path:
    """A System.evtx of ``n`` records shaped like a terminal server's: service state changes
    (7036 with EventSourceName, Qualifiers and a Binary key name) dominate, time sync,
    Kernel-General, EventLog uptime (unnamed Data), Schannel alerts and TermDD 56 (unnamed
    Data, Qualifiers, Binary NTSTATUS) — the shapes that take the general row path."""
    import random
    from datetime import datetime, timedelta, timezone

    from analyzer.sample.evtxwriter import Event, EvtxWriter, filetime, u32
    from analyzer.sample.story import P_KG, P_SCH, P_SCM, P_TIME, termdd_binary

    rnd = random.Random(seed)
    t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    services = [("Windows Update", "wuauserv"), ("Remote Desktop Services", "TermService"),
                ("Background Intelligent Transfer Service", "BITS"),
                ("WinHTTP Web Proxy Auto-Discovery Service", "WinHttpAutoProxySvc"),
                ("Windows Modules Installer", "TrustedInstaller")]

    def events():
        for i in range(n):
            t = t0 + timedelta(milliseconds=211 * i)
            r = rnd.random()
            common = dict(time=t, channel="System", computer="TS01.contoso.com",
                          thread_id=rnd.randrange(100, 9000, 4))
            if r < 0.55:
                disp, key = rnd.choice(services)
                state = rnd.choice(("running", "stopped"))
                yield Event(provider=P_SCM[0], provider_guid=P_SCM[1], event_source_name=P_SCM[0],
                            event_id=7036, qualifiers=16384, keywords=0x8080000000000000,
                            process_id=640, data=[("param1", disp), ("param2", state)],
                            binary=(key + "/" + ("4" if state == "running" else "1"))
                            .encode("utf-16-le") + b"\x00\x00", **common)
            elif r < 0.70:
                yield Event(provider=P_TIME[0], provider_guid=P_TIME[1], event_id=37,
                            process_id=1720, data=[("TimeSource", "DC01.contoso.com "
                                                    "(ntp.d|0.0.0.0:123->10.20.0.5:123)")],
                            **common)
            elif r < 0.80:
                yield Event(provider=P_KG[0], provider_guid=P_KG[1], event_id=16, process_id=4,
                            data=[("FinalNameLength", u32(60)),
                                  ("FinalName", "\\??\\C:\\Windows\\ServiceState\\EventLog\\Data\\lastalive0.dat"),
                                  ("StartTime", filetime(t - timedelta(days=3)))], **common)
            elif r < 0.88:
                yield Event(provider="EventLog", event_id=6013, qualifiers=32768,
                            keywords=0x80000000000000, process_id=4,
                            data=[(None, ""), (None, ""), (None, ""), (None, ""),
                                  (None, str(3600 * 24 * 3 + i)), (None, "60"),
                                  (None, "300 Eastern Standard Time")], binary=b"", **common)
            elif r < 0.96:
                yield Event(provider=P_SCH[0], provider_guid=P_SCH[1], event_id=36888, level=2,
                            process_id=660, data=[("AlertDesc", u32(40)), ("ErrorState", u32(1205))],
                            **common)
            else:
                ip = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
                yield Event(provider="TermDD", event_id=56, level=2, qualifiers=49162,
                            keywords=0x80000000000000, process_id=4,
                            data=[(None, "\\Device\\Termdd"), (None, ip)],
                            binary=termdd_binary(0xC00A0038), **common)

    with EvtxWriter(path) as w:
        w.add_many(events())
    return path


def generate_rdp(path: Path, n: int, seed: int = 13) -> Path:
    """A TerminalServices-LocalSessionManager/Operational log of ``n`` records: session
    logon/shell start/disconnect/reconnect/logoff (21/22/24/25/23) and 40/41/42, all
    UserData EventXML as Windows logs them (every record is RDP-relevant)."""
    import random
    from datetime import datetime, timedelta, timezone

    from analyzer.sample.evtxwriter import Event, EvtxWriter
    from analyzer.sample.story import CH_LSM, P_LSM

    rnd = random.Random(seed)
    t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    cycle = (41, 21, 22, 42, 40, 24, 25, 40, 24, 23)

    def events():
        session = 1
        for i in range(n):
            eid = cycle[i % len(cycle)]
            if eid == 41:
                session += 1
                user = f"CONTOSO\\user{rnd.randrange(200):03d}"
                ip = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
            if eid == 40:
                items = [("Session", str(session)), ("Reason", str(rnd.choice((0, 5, 11))))]
            elif eid in (21, 22, 24, 25):
                items = [("User", user), ("SessionID", str(session)), ("Address", ip)]
            else:
                items = [("User", user), ("SessionID", str(session))]
            yield Event(provider=P_LSM[0], provider_guid=P_LSM[1], event_id=eid,
                        time=t0 + timedelta(milliseconds=997 * i), channel=CH_LSM,
                        computer="TS01.contoso.com", process_id=1012,
                        thread_id=rnd.randrange(100, 9000, 4), user_sid="S-1-5-18",
                        user_data=("EventXML", "Event_NS", items))

    with EvtxWriter(path) as w:
        w.add_many(events())
    return path


GENERATORS = {"security": generate_security, "system": generate_system, "rdp": generate_rdp}
LOG_NAMES = {"security": "Security", "system": "System",
             "rdp": "LocalSessionManager-Operational"}


def generator_tag(kind: str) -> str:
    """A fingerprint of the code that writes a generated log: the generator function, the
    event mix, and the project's EVTX writer. Part of the file name in ``--gen-dir``, so a
    log written by an older generator is never reused as if it were today's (it was once:
    a 1 M table measured an older, differently mixed file)."""
    import hashlib
    import inspect

    from analyzer.sample import evtxwriter

    h = hashlib.sha256(inspect.getsource(GENERATORS[kind]).encode())
    h.update(repr(MIX).encode())
    h.update(Path(evtxwriter.__file__).read_bytes())
    return h.hexdigest()[:8]


def generated_log(where: Path, kind: str, n: int) -> Path:
    """``where/<Log>-<n>-<tag>.evtx``, written by the generator unless already there."""
    p = where / f"{LOG_NAMES[kind]}-{n}-{generator_tag(kind)}.evtx"
    if not p.exists():
        GENERATORS[kind](p.with_suffix(".tmp"), n).rename(p)
    return p


# --------------------------------------------------------------------------- main


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    import evtx as _e  # noqa: F401
    from importlib.metadata import version

    from parsers import evtx as ours
    # (this script reads the checkout's own parsers/: from a clone installed with
    # `pip install .` the C row builder sits in site-packages, not here, and our rows
    # were 2.5x slower without a word)
    fast = "" if ours._FAST is not None else (
        "; C row builder NOT built in this checkout (`pip install -e .`): our rows are "
        "far slower than the installed package's")
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), "
            f"Python {platform.python_version()}, evtx {version('evtx')}, "
            f"python-evtx {version('python-evtx')}, orjson {version('orjson')}, "
            f"pandas {version('pandas')}; load average at start {load:.1f}{fast}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--py-limit", type=int, default=1500,
                    help="records sampled for the slow record.xml() row (b2)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--generate", default="", help="comma-separated record counts, e.g. 10000,100000")
    ap.add_argument("--gen-dir", type=Path, help="keep generated logs here (reused while the "
                    "generator is unchanged: the file name carries its fingerprint)")
    ap.add_argument("--kinds", default="security",
                    help="generated log kinds, comma-separated: security, system, rdp "
                    "(LocalSessionManager/Operational)")
    ap.add_argument("--no-python", action="store_true", help="skip python-evtx rows (big logs)")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--chart", type=Path, help="also write an SVG chart of the ratios here")
    ap.add_argument("--chart-from", type=Path, help="only draw --chart from saved --markdown output")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.chart_from:
        chart(parse_markdown(a.chart_from.read_text()), a.chart or Path("evtx_ingest.svg"))
        return 0

    if a.child:
        files = [str(f) for f in a.files]
        if a.child == "noop":
            m_noop(files)
            print(peak_rss_mib())
            return 0
        for name, fn, kw in methods(a.workers, True):
            if name == a.child:
                _call(fn, files, kw, a.py_limit)
                print(peak_rss_mib())
                return 0
        return 2

    print(machine() + "\n")
    sets: list[tuple[str, list[Path]]] = []
    tmp = None
    if a.generate:
        if a.gen_dir:
            a.gen_dir.mkdir(parents=True, exist_ok=True)
            where = a.gen_dir
        else:
            tmp = tempfile.TemporaryDirectory(prefix="rdpdoctor-bench-")
            where = Path(tmp.name)
        kinds = [k.strip() for k in a.kinds.split(",") if k.strip()]
        for kind in kinds:
            if kind not in GENERATORS:
                print(f"unknown log kind {kind!r} (known: {', '.join(GENERATORS)})",
                      file=sys.stderr)
                return 2
        for kind in kinds:
            for n in [int(x) for x in a.generate.split(",") if x]:
                t = time.perf_counter()
                name = LOG_NAMES[kind]
                p = generated_log(where, kind, n)
                print(f"generated {p.name}: {n} records, {p.stat().st_size / 1e6:.1f} MB "
                      f"in {time.perf_counter() - t:.1f}s", file=sys.stderr)
                sets.append((f"generated {name}.evtx, {n:,} records, "
                             f"{p.stat().st_size / 1e6:.1f} MB", [p]))
    elif a.files:
        sets.append((f"{len(a.files)} file(s): " + ", ".join(f.name for f in a.files[:3]), a.files))
    else:
        corpus = sorted(CORPUS.glob("*.evtx"))
        if not corpus:
            print(f"no corpus at {CORPUS}; pass .evtx files or --generate N", file=sys.stderr)
            return 2
        largest = max(corpus, key=lambda p: p.stat().st_size)
        sets.append((f"largest corpus file: {largest.name} "
                     f"({largest.stat().st_size / 1e6:.1f} MB)", [largest]))
        sets.append((f"all {len(corpus)} corpus .evtx together "
                     f"({sum(p.stat().st_size for p in corpus) / 1e6:.1f} MB)", corpus))
    done = []
    try:
        for title, files in sets:
            rows = bench(files, a.repeat, a.py_limit, a.workers, not a.no_memory,
                         with_python=not a.no_python)
            print(render(title, rows, a.markdown))
            sys.stdout.flush()
            done.append((title, rows))
        if a.chart:
            chart(done, a.chart)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
