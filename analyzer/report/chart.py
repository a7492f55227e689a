"""The HTML report's timeline chart: a hand-built SVG of RDP-relevant events per host.

One row ("lane") per host and category — sessions, failed logons, TermDD errors, licensing,
TLS/certificate, listener/service, sleep — over a time window around the failures. Events
are counted into a fixed number of time bins, so a 100k-event bundle draws at most
``hosts × lanes × BINS`` small rectangles; bar height grows with the log of the count and
each bar carries a ``<title>`` tooltip with the exact number. Sleep is drawn as intervals.
Finding evidence times are marked with red triangles on the axis. Pure string building:
no JavaScript, no fonts, no network, deterministic output for the same input.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from .. import knowledge, timeline
from ..safetext import html_text

BINS = 96
MAX_HOSTS = 6
MAX_SLEEPS = 200

#: lane key, label, colour, event_type prefixes (matching any prefix puts an event in the lane)
LANES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("sessions", "Sessions", "#2b6cb0",
     ("rdp:lsm:logon", "rdp:lsm:logoff", "rdp:lsm:disconnect", "rdp:lsm:reconnect",
      "sec:session:", "rdp:rcm:auth-success", "rdp:rcm:connection-received",
      "rdp:core:connection-accepted")),
    ("failed", "Failed logons", "#c05621",
     ("sec:logon:failure", "rdp:core:auth-failed", "sec:rdp:denied")),
    ("termdd", "TermDD errors", "#9b2c2c", ("sys:termdd:",)),
    ("licensing", "Licensing", "#6b46c1",
     ("sys:termservice:grace", "sys:termservice:license", "sys:termservice:temp-license",
      "sys:termservice:invalid-client", "rdp:rcm:licensing:", "sys:tslicensing:placement")),
    ("tls", "TLS / certificate", "#b7791f",
     ("tls:", "rdp:rcm:cert:", "rdp:core:security-error", "rdp:rcm:security-autocorrected")),
    ("service", "Listener / service", "#2f855a",
     ("rdp:rcm:listener-", "sys:termservice:listener-down", "sys:termservice:session-create",
      "sys:termservice:connection-", "sys:termservice:stack-load", "rdp:rcm:logons-disabled",
      "rdp:rcm:session-create-failed", "svc:crash", "svc:start-failed", "svc:error",
      "svc:state", "svc:installed", "power:unclean-reboot",
      "sys:eventlog:unexpected-shutdown")),
)
SLEEP_LANE = ("sleep", "Sleep / hibernate", "#718096")

#: svc:state rows only count when they are about Remote Desktop's own services: by English
#: display name, or by the key name in the 7036's Binary (any display language).
_TS_SERVICE = re.compile(r"termservice|terminal services|remote desktop|umrdpservice|sessionenv|"
                         + knowledge.utf16_hex_pattern(knowledge.RDP_SERVICES) + "2f00",
                         re.IGNORECASE)
_RDP_LOGON = re.compile(r'"LogonType":"?10"?[,}]')


def esc(value: object) -> str:
    """Text for the SVG: host names are the customer's, so control characters and bidi
    overrides show as escapes, as everywhere else in the HTML report."""
    return html_text(str(value))


@dataclass
class Chart:
    svg: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    drawn: int = 0                      # events counted into the bins
    outside: int = 0                    # relevant events outside the window
    hosts_omitted: list[str] = field(default_factory=list)   # active, but over MAX_HOSTS
    hosts_quiet: list[str] = field(default_factory=list)     # with findings, nothing to draw
    sleeps: int = 0
    lanes: int = 0


def _lane_of_types(types: Iterable[str]) -> dict[str, str]:
    out = {}
    for t in types:
        if not isinstance(t, str):
            continue
        for key, _, _, prefixes in LANES:
            if t.startswith(prefixes):
                out[t] = key
                break
    return out


def relevant_events(tl: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``tl`` with a time, a lane and a host: columns time, host, lane, level.

    Rows are picked by position from the event types (no mask over the whole timeline):
    only the ``data`` of logon successes and service-state rows is read, a slice at a time.
    """
    if tl is None or len(tl) == 0 or "event_type" not in tl.columns or "time" not in tl.columns:
        return pd.DataFrame({"time": pd.Series([], dtype="datetime64[us, UTC]"),
                             "host": pd.Series([], dtype="string"),
                             "lane": pd.Series([], dtype="string"),
                             "level": pd.Series([], dtype="Int8")})
    groups = timeline.group_positions(tl["event_type"], na=None)
    mapping = _lane_of_types(k for k in groups if k is not None)
    lane = np.full(len(tl), None, dtype=object)
    for t, key in mapping.items():
        lane[groups[t]] = key
    timed = tl["time"].notna().to_numpy()
    keep = (lane != None) & timed                     # noqa: E711 (elementwise)
    # logon successes are sessions only when they are RDP (LogonType 10)
    logon = groups.get("sec:logon:success")
    if logon is not None and "data" in tl.columns:
        rdp = logon[_scan(tl["data"], logon, lambda d: d.str.contains(_RDP_LOGON, na=False))]
        lane[rdp] = "sessions"
        keep[rdp] = timed[rdp]
    svc = groups.get("svc:state")
    if svc is not None:
        svc = svc[keep[svc]]
    if svc is not None and len(svc):
        data = (timeline.take_series(tl["data"], svc).astype("string") if "data" in tl.columns
                else pd.Series(pd.NA, index=tl.index[svc], dtype="string"))
        text = (data.fillna("") + " " +
                timeline.take_series(tl["message"], svc).astype("string").fillna("")
                if "message" in tl.columns else data.fillna(""))
        keep[svc[~text.str.contains(_TS_SERVICE, na=False).to_numpy(dtype=bool)]] = False
    pos = np.nonzero(keep)[0]
    host = (timeline.take_series(tl["host"], pos).astype("string").fillna("(unknown host)")
            if "host" in tl.columns else pd.Series("(unknown host)", index=tl.index[pos], dtype="string"))
    level = (timeline.take_series(tl["level"], pos) if "level" in tl.columns
             else pd.Series(pd.NA, index=tl.index[pos], dtype="Int8"))
    out = pd.DataFrame({"time": tl["time"].iloc[pos], "host": host,
                        "lane": pd.Series(lane[pos], index=tl.index[pos], dtype="str"),
                        "level": level})
    return out.reset_index(drop=True)


def _scan(col: pd.Series, positions: np.ndarray, fn, chunk: int = 4096) -> np.ndarray:
    """``fn`` (a boolean per value) over ``col`` at ``positions``, a slice at a time."""
    out = [np.asarray(fn(timeline.take_series(col, positions[i:i + chunk]).astype("string")),
                      dtype=bool) for i in range(0, len(positions), chunk)]
    return np.concatenate(out) if out else np.zeros(0, dtype=bool)


def sleep_intervals(tl: pd.DataFrame) -> list[tuple[str, pd.Timestamp, pd.Timestamp | None]]:
    """(host, start, end) of sleep/hibernate periods: Kernel-Power 42 → next wake/resume/boot.

    Power-Troubleshooter 1 ("the system has returned from a low power state") carries the
    sleep and wake times itself; when it does, that interval is used as is.
    """
    if tl is None or len(tl) == 0 or "event_type" not in tl.columns:
        return []
    groups = timeline.group_positions(tl["event_type"], na=None)
    pos = [groups[t] for t in ("power:sleep", "power:wake", "power:resume", "power:standby-enter",
                               "power:standby-exit", "sys:eventlog:start") if t in groups]
    if not pos:
        return []
    pos = timeline.union_positions(pos)
    pw = timeline.take(tl, pos[tl["time"].iloc[pos].notna().to_numpy()])
    if len(pw) == 0:
        return []
    import orjson

    out: list[tuple[str, pd.Timestamp, pd.Timestamp | None]] = []
    for host, rows in pw.groupby(pw["host"].astype("string").fillna("(unknown host)"), sort=True):
        start = None
        for t, typ, data in zip(rows["time"], rows["event_type"].astype("string"),
                                rows["data"] if "data" in rows.columns else [None] * len(rows)):
            if typ in ("power:sleep", "power:standby-enter"):
                if start is None:
                    start = t
                continue
            if typ == "power:wake" and isinstance(data, str):
                try:
                    d = orjson.loads(data)
                except orjson.JSONDecodeError:
                    d = {}
                s = pd.to_datetime(d.get("SleepTime"), utc=True, errors="coerce")
                w = pd.to_datetime(d.get("WakeTime"), utc=True, errors="coerce")
                if not pd.isna(s) and not pd.isna(w) and s <= w:
                    out.append((str(host), s, w))
                    start = None
                    continue
            if start is not None:
                out.append((str(host), start, t))
                start = None
        if start is not None:
            out.append((str(host), start, None))
    return out


def _densest(times: list[pd.Timestamp], width: pd.Timedelta) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(first, last) of the times inside the ``width`` span holding most of them (latest wins)."""
    ts = sorted(times)
    best, best_i, best_j, j = -1, 0, 0, 0
    for i in range(len(ts)):
        while j + 1 < len(ts) and ts[j + 1] - ts[i] <= width:
            j += 1
        if j - i + 1 >= best:
            best, best_i, best_j = j - i + 1, i, j
    return ts[best_i], ts[best_j]


def choose_window(events: pd.DataFrame, marks: list[pd.Timestamp],
                  max_span: pd.Timedelta = pd.Timedelta(days=30)
                  ) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The time window: around the failures — the findings' evidence, error events (level
    critical/error, sessions aside) and failed logons — else around all events; widened to
    the RDP sessions of the 24 hours before and the 6 hours after them.

    Padded by a quarter of the span, at least 2 hours before and 1 hour after. When the
    focus times spread over more than ``max_span`` (logs kept for years, several machines),
    the window is the ``max_span`` stretch holding most of them, so old records do not
    flatten the chart.
    """
    focus = [t for t in marks if not pd.isna(t)]
    if len(events):
        # errors (level 1/2) and failed logons (Security audits log at level 0, "LogAlways")
        lvl = events["level"].fillna(4)
        err = events[((lvl >= 1) & (lvl <= 2) & (events["lane"] != "sessions"))
                     | (events["lane"] == "failed")]
        focus += list(err["time"])
        if not focus:
            focus = list(events["time"])
    if not focus:
        return None
    lo, hi = _densest(focus, max_span)
    # context: the RDP sessions of the day before the failures (did it work yesterday?) and
    # the first hours after them (did anyone get in again?)
    if len(events):
        ses = events.loc[events["lane"] == "sessions", "time"]
        before = ses[(ses < lo) & (ses >= lo - pd.Timedelta(hours=24))]
        after = ses[(ses > hi) & (ses <= hi + pd.Timedelta(hours=6))]
        if len(before):
            lo = before.min()
        if len(after):
            hi = after.max()
    pad = (hi - lo) / 4
    # more context before the failures (what led to them) than after
    return lo - max(pad, pd.Timedelta(hours=2)), hi + max(pad, pd.Timedelta(hours=1))


def _fmt_tick(t: pd.Timestamp, span: pd.Timedelta) -> str:
    if span > pd.Timedelta(days=3):
        return t.strftime("%Y-%m-%d")
    if span > pd.Timedelta(hours=12):
        return t.strftime("%m-%d %H:%M")
    return t.strftime("%H:%M")


def _nice_step(span: pd.Timedelta, target: int = 6) -> pd.Timedelta:
    steps = [pd.Timedelta(minutes=m) for m in (1, 2, 5, 10, 15, 30)] + \
        [pd.Timedelta(hours=h) for h in (1, 2, 3, 6, 12)] + \
        [pd.Timedelta(days=d) for d in (1, 2, 5, 7, 14, 30, 60, 180, 365)]
    for s in steps:
        if span / s <= target:
            return s
    return steps[-1]


def build(timeline: pd.DataFrame | None, *, marks: Iterable[tuple[str, pd.Timestamp]] = (),
          hosts_first: Iterable[str] = ()) -> Chart:
    """Build the chart. ``marks``: (host, time) of finding evidence; ``hosts_first``: hosts
    with findings, drawn first."""
    events = relevant_events(timeline)
    sleeps = sleep_intervals(timeline)
    marks = [(h, pd.Timestamp(t)) for h, t in marks if t is not None and not pd.isna(t)]
    marks = [(h, t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")) for h, t in marks]
    window = choose_window(events, [t for _, t in marks])
    if window is None and sleeps:
        window = choose_window(events, [s for _, s, _ in sleeps])
    if window is None:
        return Chart(svg="", start=None, end=None)
    lo, hi = window
    span = hi - lo
    inside = events[(events["time"] >= lo) & (events["time"] <= hi)]
    outside = len(events) - len(inside)

    # hosts with something to draw: those with findings first, then by name
    active = set(inside["host"].dropna().astype(str)) | {
        h for h, s, e in sleeps if s <= hi and (e is None or e >= lo)}
    order = list(dict.fromkeys([str(h) for h in hosts_first] + sorted(active)))
    all_hosts = [h for h in order if h in active] or order[:1]
    hosts, omitted = all_hosts[:MAX_HOSTS], all_hosts[MAX_HOSTS:]
    quiet = [h for h in order if h not in active and h not in hosts]

    # ---- bin counts
    width_s = span.total_seconds() / BINS
    bins = ((inside["time"] - lo).dt.total_seconds() // width_s).clip(0, BINS - 1).astype(int)
    counts = (pd.DataFrame({"host": inside["host"].to_numpy(), "lane": inside["lane"].to_numpy(),
                            "bin": bins.to_numpy()})
              .groupby(["host", "lane", "bin"]).size())
    vmax = int(counts.max()) if len(counts) else 1

    # ---- layout
    W, left, right, top = 1000, 190, 12, 30
    plot_w = W - left - right
    lane_h, host_h, gap = 18, 20, 8
    rows: list[tuple[str, str, str | None]] = []        # (kind, host, lane key)
    lane_keys_by_host = {}
    for h in hosts:
        present = set(counts.loc[h].index.get_level_values(0)) if h in counts.index.get_level_values(0) else set()
        keys = [k for k, *_ in LANES if k in present]
        hs = [(s, e) for hh, s, e in sleeps if hh == h and s <= hi and (e is None or e >= lo)]
        if hs:
            keys.append("sleep")
        lane_keys_by_host[h] = (keys, hs)
        rows.append(("host", h, None))
        rows.extend(("lane", h, k) for k in keys)
        if not keys:
            rows.append(("empty", h, None))
    y = top
    body: list[str] = []
    lane_meta = {k: (label, colour) for k, label, colour, _ in LANES}
    lane_meta["sleep"] = (SLEEP_LANE[1], SLEEP_LANE[2])

    def x_of(t: pd.Timestamp) -> float:
        return left + plot_w * max(0.0, min(1.0, (t - lo) / span))

    n_lanes = 0
    n_sleeps = 0
    for kind, h, key in rows:
        if kind == "host":
            y += gap
            body.append(f'<text class="ch-host" x="4" y="{y + 14}">{esc(h)}</text>'
                        f'<line x1="{left}" x2="{W - right}" y1="{y + host_h - 2}" '
                        f'y2="{y + host_h - 2}" class="ch-rule"/>')
            y += host_h
            continue
        if kind == "empty":
            body.append(f'<text class="ch-none" x="{left + 6}" y="{y + 13}">'
                        'no RDP-relevant events in this window</text>')
            y += lane_h
            continue
        n_lanes += 1
        label, colour = lane_meta[key]
        body.append(f'<text class="ch-lane" x="16" y="{y + 13}">{esc(label)}</text>'
                    f'<rect x="{left}" y="{y + 1}" width="{plot_w}" height="{lane_h - 2}" '
                    f'class="ch-bg"/>')
        if key == "sleep":
            for s, e in lane_keys_by_host[h][1][:MAX_SLEEPS]:
                x0, x1 = x_of(s), x_of(e if e is not None else hi)
                end_txt = e.isoformat() if e is not None else "no wake event in the bundle"
                body.append(f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 2):.1f}" '
                            f'height="{lane_h - 4}" fill="{colour}" class="ch-sleep">'
                            f'<title>{esc(h)} asleep {esc(s.isoformat())} → '
                            f'{esc(end_txt)}</title></rect>')
                n_sleeps += 1
        else:
            lane_counts = counts.loc[(h, key)] if (h, key) in counts.index.droplevel(2) else None
            if lane_counts is not None:
                bw = plot_w / BINS
                for b, n in lane_counts.items():
                    frac = 0.3 + 0.7 * math.log1p(n) / math.log1p(vmax)
                    bh = (lane_h - 4) * frac
                    t0 = lo + pd.Timedelta(seconds=width_s * b)
                    body.append(
                        f'<rect x="{left + b * bw:.1f}" y="{y + lane_h - 2 - bh:.1f}" '
                        f'width="{max(bw - 1, 1.5):.1f}" height="{bh:.1f}" fill="{colour}">'
                        f'<title>{esc(h)} · {esc(label)} · {esc(t0.isoformat())}: '
                        f'{int(n)} event{"s" if n != 1 else ""}</title></rect>')
        y += lane_h

    # ---- axis, ticks, marks
    axis_y = top - 6
    parts = [f'<line x1="{left}" x2="{W - right}" y1="{axis_y}" y2="{axis_y}" class="ch-axis"/>']
    step = _nice_step(span)
    t = pd.Timestamp(lo).floor(step if step <= pd.Timedelta(days=1) else pd.Timedelta(days=1))
    guard = 0
    while t <= hi and guard < 50:
        guard += 1
        x = x_of(t)
        if t >= lo and left + 25 <= x <= W - right - 25:     # labels never cut at the edges
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y}" y2="{y}" class="ch-grid"/>'
                         f'<text class="ch-tick" x="{x:.1f}" y="{axis_y - 6}">'
                         f'{esc(_fmt_tick(t, span))}</text>')
        t = t + step
    mark_bins = sorted({int(((mt - lo).total_seconds()) // width_s)
                        for _, mt in marks if lo <= mt <= hi})
    for b in mark_bins:
        x = left + plot_w * (b + 0.5) / BINS
        parts.append(f'<path d="M{x - 5:.1f},{axis_y - 1} L{x + 5:.1f},{axis_y - 1} '
                     f'L{x:.1f},{axis_y + 8} Z" class="ch-mark"><title>finding evidence</title></path>'
                     f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y + 8}" y2="{y}" class="ch-markline"/>')
    height = y + 6
    title = (f"RDP-relevant events per host, {lo.strftime('%Y-%m-%d %H:%M')} to "
             f"{hi.strftime('%Y-%m-%d %H:%M')} UTC")
    svg = (f'<svg id="timeline-chart" class="chart" viewBox="0 0 {W} {height}" '
           f'xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="chart-title">'
           f'<title id="chart-title">{esc(title)}</title>'
           + "".join(parts) + "".join(body) + "</svg>")
    return Chart(svg=svg, start=lo, end=hi, drawn=len(inside), outside=outside,
                 hosts_omitted=omitted, hosts_quiet=quiet, sleeps=n_sleeps, lanes=n_lanes)
