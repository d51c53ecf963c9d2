"""The seat map in the browser at 20,000 seats (issue #18): bytes on the wire, time to a usable map,
frames/s while panning and zooming, a burst of 500 seat changes, and the page's memory.

One uvicorn process (as the Procfile runs it: ``--ws wsproto --ws-per-message-deflate false``) on a
PostgreSQL database of the benchmark's own, with one showtime on the Seatline Arena
(``seats/arena_plan.py``, ``--seats`` of them); the channel layer on Redis (``--redis-url``, else a
redis-server of its own on a free port), so seats blocked by this process reach the server's
sockets. Headless Chromium (``/usr/bin/chromium``) driven by Playwright; per run a fresh browser
context (empty cache):

1. bytes: the REST live form ``GET showtimes/{id}/live/`` (gzip) and the layout (gzip, cold) as the
   page fetched them (Resource Timing ``encodedBodySize``/``transferSize``), the WebSocket
   snapshot frame the page got; then one reload in the same context: whether the layout came from
   the browser's cache (``transferSize == 0``). For comparison, with a Python client: the full
   form ``GET showtimes/{id}/seats/`` (gzip and identity) and the ``?snapshot=full`` frame.
2. time from navigation to a usable map (``#seatmap-app[data-ready="true"]`` and
   ``#connection[data-state="live"]``), and from the WebSocket snapshot's arrival to the next
   frame painted (the canvas's next ``draw()``, then the next task; the old SVG page: the next
   animation frame, then the next task).
3. frames/s during 3 s of scripted input at 1280×900 and at 390×844 (device scale 3): every
   animation frame one real event on the canvas (wheel zoom in/out around moving points, pointer
   drags); frames drawn per second (``seatmap.canvas.drawn``), the longest gap between two drawn
   frames, the share of time in ``vector`` / ``bitmap`` mode.
4. a burst of 500 seat changes: 500 seats blocked through ``seats_block`` (as the admin does) in
   batches of 50; from the first ``seats.changed`` frame of the burst to all 500 shown blocked
   and a frame painted.
5. memory: CDP ``Performance.getMetrics`` ``JSHeapUsedSize`` and ``Nodes`` after load and after
   the pan/zoom.

The old page (commit 7b706c0: an SVG circle per seat, the full seat list, no ``seatmap.canvas``)
is detected and measured where the figure applies (no pan or zoom there: frames/s "n/a").

    .venv/bin/python bench/render.py --database-url postgres://postgres@127.0.0.1:5432/bench_render \
        [--redis-url redis://127.0.0.1:6379/0] [--runs 3] [--seats 20000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    ROOT,
    free_port,
    require_loopback,
    setup_django,
    start_servers,
    write_results,
)

CHROMIUM = "/usr/bin/chromium"
REDIS_SERVER = "/usr/bin/redis-server"
VENUE = "Bench Seatline Arena"
BURST = 500
BATCH = 50
VIEWS = {
    "desktop": ({"width": 1280, "height": 900}, 1),
    "phone": ({"width": 390, "height": 844}, 3),
}

# In every page before its scripts: time-stamps the WebSocket frames (a listener added in the
# constructor runs before the page's own onmessage), the moment the map is usable, and the draws
# of the canvas (seatmap.canvas.draw wrapped once it exists).
INIT_SCRIPT = r"""
(() => {
  const B = window.__bench = {
    frames: [], snapshot: null, usable: null, ready: null, readyPainted: null, draws: [], recordDraws: false, burst: null,
  };
  const after = (fn) => { const ch = new MessageChannel(); ch.port1.onmessage = fn; ch.port2.postMessage(0); };
  B.after = after;
  B.hook = () => {
    const c = window.seatmap && window.seatmap.canvas;
    if (!c || c.__benchHooked) return !!c;
    const draw = c.draw;
    c.draw = function (...args) {
      const r = draw.apply(this, args);
      const t = performance.now();
      if (B.recordDraws) B.draws.push([t, this.mode]);
      const waiting = B.waitDraw; B.waitDraw = [];
      for (const fn of waiting || []) fn(t);
      return r;
    };
    c.__benchHooked = true;
    return true;
  };
  // resolve `fn(tDrawn, tPainted)` at the next frame drawn (canvas) or animation frame (SVG page)
  B.nextPaint = (fn) => {
    if (B.hook()) {
      (B.waitDraw = B.waitDraw || []).push((t) => after(() => fn(t, performance.now())));
    } else {
      requestAnimationFrame((t) => after(() => fn(t, performance.now())));
    }
  };
  B.statusOf = (id) => {
    const m = window.seatmap;
    if (m.status) return m.status(id);
    const e = m.state.seats.get(id);
    return e ? e.status : null;
  };
  const Native = window.WebSocket;
  class BenchSocket extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (ev) => {
        const t = performance.now();
        const data = typeof ev.data === 'string' ? ev.data : '';
        const bytes = new TextEncoder().encode(data).length;
        const type = (data.match(/"type"\s*:\s*"([^"]+)"/) || [])[1] || '?';
        B.frames.push({ t, type, bytes });
        if (type === 'snapshot' && !B.snapshot) {
          const c = window.seatmap && window.seatmap.canvas;
          const s = B.snapshot = { t, bytes, applied: null, painted: null, d0: c ? c.drawn : null, redrawn: null };
          after(() => {   // after the page's own handler
            s.applied = performance.now();
            requestAnimationFrame(() => after(() => {
              s.painted = performance.now();
              if (c) s.redrawn = c.drawn !== s.d0;
            }));
          });
        }
        const b = B.burst;
        if (b && type === 'seats.changed' && data.includes('"blocked"')) {
          if (b.first === null) b.first = t;
          b.frames += 1;
          after(() => {   // after the page's own handler
            b.handler += performance.now() - t;
            if (b.applied !== null) return;
            for (const id of b.ids) if (B.statusOf(id) !== 'blocked') return;
            b.applied = performance.now();
            B.nextPaint((td, tp) => { b.drawn = td; b.painted = tp; });
          });
        }
      });
    }
  }
  window.WebSocket = BenchSocket;
  const check = () => {
    if (B.usable !== null) return;
    const app = document.getElementById('seatmap-app');
    const conn = document.getElementById('connection');
    if (B.ready === null && app && app.dataset.ready === 'true') {
      B.ready = performance.now();  // then the frame that shows it (style, layout, paint)
      requestAnimationFrame(() => after(() => { B.readyPainted = performance.now(); }));
    }
    if (app && conn && app.dataset.ready === 'true' && conn.dataset.state === 'live') {
      B.usable = performance.now();
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true, attributes: true, attributeFilter: ['data-ready', 'data-state'],
  });
})();
"""

STATE = """() => JSON.stringify({bench: window.__bench && {usable: __bench.usable,
  snapshot: __bench.snapshot, frames: __bench.frames.slice(0, 5)},
  ready: document.getElementById('seatmap-app')?.dataset.ready,
  conn: document.getElementById('connection')?.dataset.state,
  message: document.getElementById('message')?.textContent})"""

# 3 s of input, one event per animation frame; returns the figures.
PAN_ZOOM = r"""
async (seconds) => {
  const B = window.__bench; B.hook();
  const c = window.seatmap.canvas; const el = c.canvas;
  const rect = el.getBoundingClientRect();
  const w = rect.width; const h = rect.height;
  const d0 = c.drawn || 0;
  B.draws = []; B.recordDraws = true;
  let frame = 0; let rafs = 0; let down = null;
  const t0 = performance.now();
  const pt = (k) => ({ x: rect.left + w * (0.3 + 0.4 * ((k * 0.37) % 1)), y: rect.top + h * (0.3 + 0.4 * ((k * 0.61) % 1)) });
  const pointer = (type, p) => el.dispatchEvent(new PointerEvent(type, {
    bubbles: true, cancelable: true, composed: true, pointerId: 1, pointerType: 'mouse',
    isPrimary: true, button: 0, buttons: type === 'pointerup' ? 0 : 1, clientX: p.x, clientY: p.y,
  }));
  await new Promise((resolve) => {
    const step = () => {
      rafs += 1;
      if (performance.now() - t0 >= seconds * 1000) { if (down) pointer('pointerup', down); resolve(); return; }
      // a cycle of 80 frames: 20 wheel steps in, a 20-frame drag, 20 wheel steps out, a drag
      const k = frame % 80; const cycle = Math.floor(frame / 80);
      if (k < 20 || (k >= 40 && k < 60)) {
        const p = pt(cycle * 2 + (k < 20 ? 0 : 1));
        el.dispatchEvent(new WheelEvent('wheel', {
          bubbles: true, cancelable: true, deltaMode: 0, deltaY: k < 20 ? -100 : 100, clientX: p.x, clientY: p.y,
        }));
      } else {
        const j = k % 20; const start = pt(cycle + 7);
        const dx = (cycle % 2 ? -1 : 1) * 12; const dy = (cycle % 2 ? 1 : -1) * 7;
        if (j === 0) { down = start; pointer('pointerdown', start); }
        else if (j < 19) pointer('pointermove', { x: start.x + dx * j, y: start.y + dy * j });
        else { pointer('pointerup', { x: start.x + dx * j, y: start.y + dy * j }); down = null; }
      }
      frame += 1;
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  const t1 = performance.now();
  B.recordDraws = false;
  const draws = B.draws;
  let gap = 0; const inMode = { vector: 0, bitmap: 0 };
  for (let i = 0; i < draws.length; i++) {
    const next = i + 1 < draws.length ? draws[i + 1][0] : t1;
    const prev = i === 0 ? t0 : draws[i - 1][0];
    gap = Math.max(gap, draws[i][0] - prev);
    inMode[draws[i][1]] = (inMode[draws[i][1]] || 0) + (next - draws[i][0]);
  }
  if (draws.length) gap = Math.max(gap, t1 - draws[draws.length - 1][0]);
  const span = t1 - t0; const moded = inMode.vector + inMode.bitmap || 1;
  return {
    seconds: span / 1000, drawn: (c.drawn || 0) - d0, fps: ((c.drawn || 0) - d0) / (span / 1000),
    raf_per_s: rafs / (span / 1000), events: frame, max_gap_ms: gap,
    vector_share: inMode.vector / moded, bitmap_share: inMode.bitmap / moded,
  };
}
"""


# --- data (Django, in a worker thread: no event loop there) -----------------------------------


def build_plan(seats: int) -> dict:
    try:
        from seats.arena_plan import build_arena_plan
    except ImportError:  # an old tree without the arena: the file copied beside this one
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from arena_plan import build_arena_plan  # type: ignore[no-redef]
    return build_arena_plan(seats_target=seats)


def arena_showtime(seats: int) -> tuple[int, list[str], list[int]]:
    """The benchmark's showtime on the arena (made once per database and size): its id, and the
    guids and pks of available seats (those a burst blocks)."""
    from django.utils import timezone

    from seats.importer import plan_import
    from seats.models import SeatingPlan, Show, Showtime, ShowtimeSeat
    from seats.services import seats_unblock, showtime_create

    venue = f"{VENUE} {seats}"
    show, _ = Show.objects.get_or_create(title=f"Render benchmark {seats}")
    showtime = Showtime.objects.filter(show=show).first()
    if showtime is None:
        data = build_plan(seats)
        plan = SeatingPlan.objects.filter(venue__name=venue).first()
        if plan is None:
            plan = plan_import(raw=json.dumps(data).encode(), venue_name=venue)
        # one price for every category (the prices do not change what is drawn)
        prices = {c["name"]: Decimal("59.00") for c in data["categories"]}
        showtime = showtime_create(
            show=show, plan=plan, starts_at=timezone.now() + timedelta(days=30), prices=prices
        )
    rows = ShowtimeSeat.objects.filter(showtime=showtime)
    blocked = list(rows.filter(status="blocked").values_list("pk", flat=True))
    if blocked:  # left over from an interrupted run
        seats_unblock(showtime_id=showtime.pk, seat_pks=blocked)
    # spread over the plan: every k-th seat, so the changes land in many sections
    seated = rows.filter(seat__ga_area__isnull=True)  # not the places of the standing floor
    pairs = list(seated.order_by("seat_id").values_list("seat__guid", "pk"))
    step = max(1, len(pairs) // BURST)
    picked = pairs[::step][:BURST]
    return showtime.pk, [str(g) for g, _ in picked], [pk for _, pk in picked]


def burst_block(showtime_id: int, pks: list[int]) -> float:
    from seats.services import seats_block

    t0 = time.perf_counter()
    for i in range(0, len(pks), BATCH):
        seats_block(showtime_id=showtime_id, seat_pks=pks[i : i + BATCH], reason="render bench")
    return time.perf_counter() - t0


def unblock(showtime_id: int, pks: list[int]) -> None:
    from seats.services import seats_unblock

    for i in range(0, len(pks), BATCH):
        seats_unblock(showtime_id=showtime_id, seat_pks=pks[i : i + BATCH])


# --- wire sizes with plain clients --------------------------------------------------------------


def http_size(url: str, encoding: str) -> int | None:
    req = urllib.request.Request(url, headers={"Accept-Encoding": encoding})
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return len(res.read())
    except urllib.error.HTTPError:
        return None


async def ws_snapshot_bytes(url: str) -> int | None:
    import websockets

    try:
        async with websockets.connect(url, compression=None, max_size=None, open_timeout=20) as ws:
            while True:
                msg = await asyncio.wait_for(ws.recv(), 30)
                raw = msg.encode() if isinstance(msg, str) else msg
                if b'"snapshot"' in raw[:200]:
                    return len(raw)
    except Exception as exc:  # an old server may refuse the query, or time out
        print(f"  ws {url}: {exc!r}", file=sys.stderr)
        return None


# --- own Redis ----------------------------------------------------------------------------------


def own_redis() -> str:
    port = free_port()
    proc = subprocess.Popen(
        [
            REDIS_SERVER,
            *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--dir", tempfile.mkdtemp(prefix="render-redis-"), "--logfile", ""),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import atexit

    atexit.register(lambda: (proc.kill(), proc.wait(10)))
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


# --- the browser ------------------------------------------------------------------------------


def metrics(cdp) -> dict:
    got = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {
        "heap_mb": round(got.get("JSHeapUsedSize", 0) / 1e6, 1),
        "nodes": int(got.get("Nodes", 0)),
    }


def resources(page) -> list[dict]:
    return page.evaluate(
        """() => performance.getEntriesByType('resource').map((e) => ({name: e.name,
        transfer: e.transferSize, encoded: e.encodedBodySize, decoded: e.decodedBodySize,
        start: e.startTime, end: e.responseEnd}))"""
    )


def find(entries: list[dict], part: str) -> dict | None:
    hits = [e for e in entries if part in e["name"]]
    return hits[-1] if hits else None


def open_map(browser, url: str, view: str, timeout_ms: int):
    size, scale = VIEWS[view]
    context = browser.new_context(viewport=size, device_scale_factor=scale)
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    page.on("console", lambda m: m.type in ("error", "warning") and print("  console:", m.text))
    page.on("pageerror", lambda e: print("  pageerror:", e))
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(url, wait_until="commit")
    try:
        page.wait_for_function(
            "() => window.__bench && __bench.usable !== null", timeout=timeout_ms
        )
        page.wait_for_function(
            "() => __bench.snapshot && __bench.snapshot.painted !== null", timeout=timeout_ms
        )
    except Exception:
        print("  page state:", page.evaluate(STATE)[:2000], file=sys.stderr)
        raise
    return context, page, cdp


def settle(page) -> None:
    page.wait_for_timeout(500)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def one_run(browser, base, showtime_id, guids, pks, executor, quick: bool) -> dict:
    url = f"{base}/showtimes/{showtime_id}/"
    timeout = 60_000
    row: dict = {}
    context, page, cdp = open_map(browser, url, "desktop", timeout)
    canvas = page.evaluate("() => !!(window.seatmap && window.seatmap.canvas)")
    row["page"] = "canvas" if canvas else "svg"
    page.wait_for_function("() => __bench.readyPainted !== null", timeout=timeout)
    bench = page.evaluate(
        "() => ({usable: __bench.usable, ready: __bench.ready, readyPainted: __bench.readyPainted, "
        "snapshot: __bench.snapshot})"
    )
    snap = bench["snapshot"]
    row["usable_ms"] = round(bench["usable"])
    row["ready_ms"] = round(bench["ready"])
    row["ws_snapshot_at_ms"] = round(snap["t"])
    row["ws_snapshot_applied_ms"] = round(snap["applied"] - snap["t"], 1)
    row["ws_snapshot_painted_ms"] = round(snap["painted"] - snap["t"], 1)
    row["ws_snapshot_redrew"] = snap["redrawn"]
    row["ws_snapshot_bytes"] = snap["bytes"]
    entries = resources(page)
    live = find(entries, f"/showtimes/{showtime_id}/live/")
    full = find(entries, f"/showtimes/{showtime_id}/seats/")
    layout = find(entries, "/layouts/")
    # the first render after the seat states (and the layout) arrived over HTTP
    arrived = max(e["end"] for e in (live, full, layout) if e)
    row["data_at_ms"] = round(arrived)
    row["data_to_first_render_ms"] = round(bench["ready"] - arrived, 1)
    row["data_to_first_paint_ms"] = round(bench["readyPainted"] - arrived, 1)
    row["rest_live_encoded"] = live and live["encoded"]
    row["rest_live_decoded"] = live and live["decoded"]
    row["page_full_encoded"] = full and full["encoded"]  # the old page fetched the full list
    row["layout_cold_encoded"] = layout and layout["encoded"]
    row["layout_cold_decoded"] = layout and layout["decoded"]
    row["layout_cold_transfer"] = layout and layout["transfer"]
    settle(page)
    row["mem_load"] = metrics(cdp)
    if canvas:
        row["fps_desktop"] = page.evaluate(PAN_ZOOM, 1 if quick else 3)
        settle(page)
        row["mem_panzoom"] = metrics(cdp)
        page.evaluate("() => { window.seatmap.canvas.overview(); window.seatmap.canvas.draw(); }")
    else:
        row["fps_desktop"] = None
        row["mem_panzoom"] = None
    settle(page)
    # the burst: arm in the page, block from a worker thread (Django), wait for the page
    page.evaluate(
        """(ids) => { __bench.burst = {ids, first: null, frames: 0, handler: 0, applied: null, drawn: null,
        painted: null}; }""",
        guids,
    )
    server_s = executor.submit(burst_block, showtime_id, pks).result()
    try:
        page.wait_for_function("() => __bench.burst.painted !== null", timeout=timeout)
    except Exception:
        print(
            "  burst state:",
            page.evaluate(
                """() => JSON.stringify({...__bench.burst, ids: undefined,
                statuses: __bench.burst.ids.slice(0, 5).map(__bench.statusOf),
                frames: __bench.frames.slice(-5)})"""
            ),
            file=sys.stderr,
        )
        raise
    burst = page.evaluate("() => __bench.burst")
    row["burst"] = {
        "seats": len(guids),
        "frames": burst["frames"],
        "server_s": round(server_s, 2),
        "applied_ms": round(burst["applied"] - burst["first"], 1),
        "painted_ms": round(burst["painted"] - burst["first"], 1),
        "handler_ms": round(burst["handler"], 1),  # the frames' handling, summed
    }
    executor.submit(unblock, showtime_id, pks).result()
    page.wait_for_timeout(500)
    # the warm reload: the layout from the browser's cache?
    page.evaluate("() => performance.clearResourceTimings()")
    page.reload(wait_until="commit")
    page.wait_for_function(
        "() => window.__bench && window.__bench.usable !== null", timeout=timeout
    )
    warm = page.evaluate("() => ({usable: __bench.usable})")
    entries = resources(page)
    layout = find(entries, "/layouts/")
    row["warm_usable_ms"] = round(warm["usable"])
    row["layout_warm_transfer"] = layout and layout["transfer"]
    row["layout_warm_cached"] = (layout["transfer"] == 0) if layout else None
    context.close()
    if canvas:
        context, page, cdp = open_map(browser, url, "phone", timeout)
        settle(page)
        row["fps_phone"] = page.evaluate(PAN_ZOOM, 1 if quick else 3)
        context.close()
    else:
        row["fps_phone"] = None
    return row


def med(rows: list[dict], *path: str):
    vals = []
    for r in rows:
        v = r
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            vals.append(v)
    return round(statistics.median(vals), 2) if vals else None


def summary(rows: list[dict], wire: dict) -> dict:
    s = {
        k: med(rows, k)
        for k in (
            "usable_ms",
            "warm_usable_ms",
            "ready_ms",
            "data_to_first_render_ms",
            "data_to_first_paint_ms",
            "ws_snapshot_applied_ms",
            "ws_snapshot_painted_ms",
            "ws_snapshot_bytes",
            "rest_live_encoded",
            "page_full_encoded",
            "layout_cold_encoded",
            "layout_cold_decoded",
        )
    }
    for view in ("desktop", "phone"):
        for k in ("fps", "max_gap_ms", "vector_share", "raf_per_s"):
            s[f"{view}_{k}"] = med(rows, f"fps_{view}", k)
    s["burst_applied_ms"] = med(rows, "burst", "applied_ms")
    s["burst_painted_ms"] = med(rows, "burst", "painted_ms")
    s["burst_handler_ms"] = med(rows, "burst", "handler_ms")
    s["burst_server_s"] = med(rows, "burst", "server_s")
    for when in ("mem_load", "mem_panzoom"):
        s[f"{when}_heap_mb"] = med(rows, when, "heap_mb")
        s[f"{when}_nodes"] = med(rows, when, "nodes")
    s["layout_warm_cached"] = [r.get("layout_warm_cached") for r in rows]
    s.update(wire)
    return s


def fmt(v, unit: str = "") -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        v = round(v, 1) if abs(v) < 100 else round(v)
    return f"{v:,}{unit}" if isinstance(v, (int, float)) else str(v)


def print_table(rows: list[dict], s: dict) -> None:
    lines = [
        ("page", rows[0]["page"] if rows else "?"),
        ("REST live snapshot, gzip bytes (page)", fmt(s["rest_live_encoded"])),
        (
            "REST live snapshot, gzip / identity (client)",
            f"{fmt(s['live_gzip'])} / {fmt(s['live_identity'])}",
        ),
        ("WS snapshot frame bytes (page)", fmt(s["ws_snapshot_bytes"])),
        (
            "WS snapshot frame bytes default / ?snapshot=full",
            f"{fmt(s['ws_default'])} / {fmt(s['ws_full'])}",
        ),
        ("full GET seats/ gzip / identity", f"{fmt(s['full_gzip'])} / {fmt(s['full_identity'])}"),
        (
            "layout gzip (cold) / decoded",
            f"{fmt(s['layout_cold_encoded'])} / {fmt(s['layout_cold_decoded'])}",
        ),
        (
            "layout from cache on reload (per run)",
            ", ".join({True: "yes", False: "no"}.get(v, "n/a") for v in s["layout_warm_cached"]),
        ),
        (
            "navigation → usable map, ms (cold / warm)",
            f"{fmt(s['usable_ms'])} / {fmt(s['warm_usable_ms'])}",
        ),
        (
            "seat states + layout arrived → data-ready / its frame painted, ms",
            f"{fmt(s['data_to_first_render_ms'])} / {fmt(s['data_to_first_paint_ms'])}",
        ),
        (
            "WS snapshot → applied / next frame painted, ms",
            f"{fmt(s['ws_snapshot_applied_ms'])} / {fmt(s['ws_snapshot_painted_ms'])}",
        ),
        (
            "pan+zoom 1280×900: frames/s, max gap ms, vector share",
            f"{fmt(s['desktop_fps'])}, {fmt(s['desktop_max_gap_ms'])}, {fmt(s['desktop_vector_share'])}"
            if s["desktop_fps"] is not None
            else "n/a (no zoom or pan)",
        ),
        (
            "pan+zoom 390×844 @3x: frames/s, max gap ms, vector share",
            f"{fmt(s['phone_fps'])}, {fmt(s['phone_max_gap_ms'])}, {fmt(s['phone_vector_share'])}"
            if s["phone_fps"] is not None
            else "n/a (no zoom or pan)",
        ),
        (
            "burst of 500 (10 frames): applied / painted ms; page's handling ms; server s",
            f"{fmt(s['burst_applied_ms'])} / {fmt(s['burst_painted_ms'])}; "
            f"{fmt(s['burst_handler_ms'])}; {fmt(s['burst_server_s'])}",
        ),
        (
            "JS heap MB / DOM nodes after load",
            f"{fmt(s['mem_load_heap_mb'])} / {fmt(s['mem_load_nodes'])}",
        ),
        (
            "JS heap MB / DOM nodes after pan+zoom",
            f"{fmt(s['mem_panzoom_heap_mb'])} / {fmt(s['mem_panzoom_nodes'])}",
        ),
    ]
    print(f"\nmedians over {len(rows)} run(s)")
    print("| figure | value |\n| --- | --- |")
    for k, v in lines:
        print(f"| {k} | {v} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_render")
    parser.add_argument("--redis-url", help="else a redis-server of its own on a free port")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seats", type=int, default=20000, help="the arena's size (20,000)")
    parser.add_argument("--quick", action="store_true", help="1 s of pan and zoom instead of 3")
    parser.add_argument("--out", default=None, help="results/render-<out>.json (default: a time)")
    args = parser.parse_args(argv)
    require_loopback(parser, args.database_url, args.redis_url)
    redis_url = args.redis_url or own_redis()
    os.environ.setdefault("REDIS_PREFIX", "render18")
    from playwright.sync_api import sync_playwright

    load = os.getloadavg()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    executor = ThreadPoolExecutor(1)  # Django outside Playwright's event loop
    executor.submit(setup_django, args.database_url, redis_url).result()
    t0 = time.perf_counter()
    showtime_id, guids, pks = executor.submit(arena_showtime, args.seats).result()
    print(f"showtime {showtime_id} ready in {time.perf_counter() - t0:.1f} s; commit {commit}")
    (base,) = start_servers(1, server="uvicorn")
    api = f"{base}/api/v1/showtimes/{showtime_id}"
    ws = base.replace("http", "ws") + f"/ws/showtimes/{showtime_id}/"
    wire = {
        "live_gzip": http_size(f"{api}/live/", "gzip"),
        "live_identity": http_size(f"{api}/live/", "identity"),
        "full_gzip": http_size(f"{api}/seats/", "gzip"),
        "full_identity": http_size(f"{api}/seats/", "identity"),
        "ws_default": asyncio.run(ws_snapshot_bytes(ws)),
        "ws_full": asyncio.run(ws_snapshot_bytes(ws + "?snapshot=full")),
    }
    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"]
        )
        for i in range(args.runs):
            row = one_run(browser, base, showtime_id, guids, pks, executor, args.quick)
            row["run"] = i + 1
            rows.append(row)
            print(json.dumps(row))
        browser.close()
    s = summary(rows, wire)
    meta = {
        "commit": commit,
        "seats": args.seats,
        "runs": args.runs,
        "quick": args.quick,
        "loadavg_start": load,
        "loadavg_end": os.getloadavg(),
        "chromium": CHROMIUM,
        "server": "uvicorn --ws wsproto --ws-per-message-deflate false, 1 process",
        "summary": s,
    }
    name = f"render-{args.out or time.strftime('%Y%m%d-%H%M%S')}"
    path = write_results(name, rows, meta)
    print_table(rows, s)
    print(f"load average {load[0]:.2f} → {os.getloadavg()[0]:.2f}; results in {path}")
    threading.Thread(target=executor.shutdown, daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
