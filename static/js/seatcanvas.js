/*
 * Seatline seat map drawing: static/js/seatcanvas.js (plain ES2020, no build step, no dependencies).
 *
 * window.SeatCanvas draws a seating plan on one <canvas> and handles zoom, pan, taps and the
 * keyboard. static/js/seatmap.js (the page's application) owns the seat states; this file only
 * asks it, per seat index, how the seat looks (`look(i)`) and tells it which seat was chosen.
 *
 * Why a canvas (bench/README.md, issue #18): with 20,000 seats an SVG of 20,000 circles panned
 * at 21–32 frames/s in headless Chromium on this machine, a canvas redrawn seat by seat at 14–26;
 * a canvas that draws a cached bitmap of the whole plan while the view is wide, and only the
 * seats in view (as vectors) once zoomed in, pans and zooms at 60.
 *
 * Coordinates: `world` is plan pixels (the layout's x/y); the view maps world to CSS pixels of
 * the canvas as screen = world * scale + (tx, ty).
 *
 * Seat looks (the legend draws the same with SeatCanvas.icon):
 *   available  a disc in the category's display colour (a white ring inside: wheelchair space)
 *   mine       a green disc with a dark ring and a white check mark
 *   held       a hollow grey ring
 *   reserved   a hollow grey ring with a dot in the middle
 *   sold       a dark grey disc with a white cross
 *   blocked    a light grey square with a diagonal line
 *   busy       any of these, half transparent (a request for the seat is on its way)
 *
 * Gestures: drag (mouse, pen, one finger) pans; the wheel, two fingers and the +/− buttons zoom;
 * a tap or click on a seat chooses it when seats are big enough to aim at (24 CSS px apart for a
 * finger, 10 for a mouse), else it zooms into the section under it. Keyboard (one tab stop):
 * arrow keys move to the nearest seat in that direction, Enter or Space chooses it, + and −
 * zoom, 0 shows the whole venue.
 */
(() => {
  'use strict';

  const LOOKS = ['available', 'mine', 'held', 'reserved', 'sold', 'blocked'];
  const INK = {
    mine: '#15803d', mineRing: '#14532d', ring: '#6b7280', sold: '#4b5563', blocked: '#d1d5db',
    blockedLine: '#6b7280', focus: '#1d4ed8', label: '#1f2937', ga: '#475569',
  };
  const TOUCH_PITCH = 24;      // CSS px between seat centres before a finger may choose a seat
  const MOUSE_PITCH = 10;      // the same for a mouse
  const TAP_SLOP = 8;          // CSS px a pointer may move and still be a tap
  const CACHE_MAX_SIDE = 2560; // device px of the longest side of the whole-plan bitmap
  const VECTOR_MAX = 6000;     // seats in view drawn one by one at most (else the bitmap is used)
  const MAX_PITCH = 90;        // the most zoom: seat centres this many CSS px apart
  const LABEL_FONT = '600 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

  /** Draws one seat at (x, y) with radius r in the context's current units. */
  function drawSeat(ctx, x, y, r, look, color, wheelchair, busy) {
    if (busy) ctx.globalAlpha = 0.45;
    const lw = Math.max(r * 0.28, 0.6);
    switch (look) {
      case 'available':
        ctx.fillStyle = color;
        ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.fill();
        if (wheelchair) {
          ctx.strokeStyle = '#fff'; ctx.lineWidth = lw * 0.8;
          ctx.beginPath(); ctx.arc(x, y, r * 0.55, 0, 2 * Math.PI); ctx.stroke();
        }
        break;
      case 'mine':
        ctx.fillStyle = INK.mine; ctx.strokeStyle = INK.mineRing; ctx.lineWidth = lw;
        ctx.beginPath(); ctx.arc(x, y, r - lw / 2, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
        ctx.strokeStyle = '#fff'; ctx.lineWidth = lw; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
        ctx.beginPath(); ctx.moveTo(x - r * 0.45, y + r * 0.02); ctx.lineTo(x - r * 0.12, y + r * 0.38);
        ctx.lineTo(x + r * 0.5, y - r * 0.38); ctx.stroke();
        break;
      case 'held':
      case 'reserved':
        ctx.fillStyle = '#fff'; ctx.strokeStyle = INK.ring; ctx.lineWidth = lw;
        ctx.beginPath(); ctx.arc(x, y, r - lw / 2, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
        if (look === 'reserved') {
          ctx.fillStyle = INK.ring;
          ctx.beginPath(); ctx.arc(x, y, r * 0.32, 0, 2 * Math.PI); ctx.fill();
        }
        break;
      case 'sold':
        ctx.fillStyle = INK.sold;
        ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.fill();
        ctx.strokeStyle = '#fff'; ctx.lineWidth = lw * 0.8; ctx.lineCap = 'round';
        ctx.beginPath(); ctx.moveTo(x - r * 0.4, y - r * 0.4); ctx.lineTo(x + r * 0.4, y + r * 0.4);
        ctx.moveTo(x + r * 0.4, y - r * 0.4); ctx.lineTo(x - r * 0.4, y + r * 0.4); ctx.stroke();
        break;
      default: {  // blocked (and anything unknown): not for sale
        const a = r * 0.8;
        ctx.fillStyle = INK.blocked; ctx.fillRect(x - a, y - a, 2 * a, 2 * a);
        ctx.strokeStyle = INK.blockedLine; ctx.lineWidth = lw * 0.7;
        ctx.beginPath(); ctx.moveTo(x - a, y + a); ctx.lineTo(x + a, y - a); ctx.stroke();
      }
    }
    if (busy) ctx.globalAlpha = 1;
  }

  class SeatCanvas {
    /**
     * container: the element the canvas goes into (it takes the container's size).
     * layout: the plan layout (api.md "Plan layout": seats.{count,id,label,zone,x,y,wheelchair,...},
     *   zones[{name,bounds}], bounds, ga[]).
     * opts: look(i) → one of LOOKS; busy(i) → bool; color(i) → CSS colour of seat i's category;
     *   choose(i) (a tap, click, Enter or Space on seat i); focused(i) (the keyboard moved to i);
     *   label: the canvas's accessible name; zoneAt(name) → shown when a section is zoomed into.
     */
    constructor(container, layout, opts) {
      this.container = container;
      this.layout = layout;
      this.opts = opts;
      const seats = layout.seats;
      this.n = seats.count;
      this.x = Float64Array.from(seats.x, Number);
      this.y = Float64Array.from(seats.y, Number);
      this.zoneOf = Int32Array.from(seats.zone || []);
      this.wheelchair = new Uint8Array(this.n);
      for (const i of seats.wheelchair || []) this.wheelchair[i] = 1;
      this.bounds = this.n ? layout.bounds : { min_x: 0, min_y: 0, max_x: 100, max_y: 100 };
      this.pitch = this.measurePitch();
      this.r = this.pitch * 0.42;
      this.buildGrid();
      this.zones = (layout.zones || []).map((z, k) => ({ ...z, index: k }));
      this.ga = layout.ga || [];

      this.canvas = document.createElement('canvas');
      this.canvas.className = 'seatmap';
      this.canvas.tabIndex = 0;
      this.canvas.setAttribute('role', 'application');
      this.canvas.setAttribute('aria-label', opts.label || '');
      if (opts.describedBy) this.canvas.setAttribute('aria-describedby', opts.describedBy);
      this.ctx = this.canvas.getContext('2d');
      container.replaceChildren(this.canvas);

      this.scale = 1; this.tx = 0; this.ty = 0;
      this.focus = -1;
      this.pointers = new Map();
      this.gesture = null;
      this.frame = 0;
      this.cache = null;
      this.cacheDirty = new Set();
      this.cacheAll = true;
      this.labelWidths = new Map();
      this.gaWidths = new Map();
      this.resize();
      this.overview();
      this.listen();
    }

    // ------------------------------------------------------------ geometry

    /** The typical distance between neighbouring seats (plan px): the median nearest-neighbour
     * distance of up to 400 seats, by a coarse grid. */
    measurePitch() {
      if (this.n < 2) return 25;
      const cell = 40; const grid = new Map();
      const key = (cx, cy) => cx * 100003 + cy;
      for (let i = 0; i < this.n; i++) {
        const k = key(Math.floor(this.x[i] / cell), Math.floor(this.y[i] / cell));
        if (!grid.has(k)) grid.set(k, []);
        grid.get(k).push(i);
      }
      const step = Math.max(1, Math.floor(this.n / 400)); const found = [];
      for (let i = 0; i < this.n; i += step) {
        const cx = Math.floor(this.x[i] / cell); const cy = Math.floor(this.y[i] / cell);
        let best = Infinity;
        for (let dx = -1; dx <= 1; dx++) {
          for (let dy = -1; dy <= 1; dy++) {
            for (const j of grid.get(key(cx + dx, cy + dy)) || []) {
              if (j === i) continue;
              const d = Math.hypot(this.x[i] - this.x[j], this.y[i] - this.y[j]);
              if (d > 0.5 && d < best) best = d;
            }
          }
        }
        if (best < Infinity) found.push(best);
      }
      if (!found.length) return 25;
      found.sort((a, b) => a - b);
      return Math.min(80, Math.max(6, found[Math.floor(found.length / 2)]));
    }

    /** A grid of seat indexes by cell (cell = 4 pitches), for hit tests and what is in view. */
    buildGrid() {
      this.cell = this.pitch * 4;
      this.grid = new Map();
      for (let i = 0; i < this.n; i++) {
        const k = this.cellKey(Math.floor(this.x[i] / this.cell), Math.floor(this.y[i] / this.cell));
        let list = this.grid.get(k);
        if (!list) { list = []; this.grid.set(k, list); }
        list.push(i);
      }
    }

    cellKey(cx, cy) { return (cx + 50000) * 100003 + (cy + 50000); }

    /** Calls fn(i) for every seat whose centre may lie in the world rectangle (x0, y0)–(x1, y1). */
    eachIn(x0, y0, x1, y1, fn) {
      const c = this.cell;
      const cx0 = Math.floor(x0 / c); const cx1 = Math.floor(x1 / c);
      const cy0 = Math.floor(y0 / c); const cy1 = Math.floor(y1 / c);
      if ((cx1 - cx0 + 1) * (cy1 - cy0 + 1) > this.grid.size) {
        for (const list of this.grid.values()) for (const i of list) fn(i);
        return;
      }
      for (let cx = cx0; cx <= cx1; cx++) {
        for (let cy = cy0; cy <= cy1; cy++) {
          const list = this.grid.get(this.cellKey(cx, cy));
          if (list) for (const i of list) fn(i);
        }
      }
    }

    /** The seat under the world point (within 1.3 radii), or -1. */
    seatAt(wx, wy) {
      const reach = this.r * 1.3; let best = -1; let bestD = reach;
      this.eachIn(wx - reach, wy - reach, wx + reach, wy + reach, (i) => {
        const d = Math.hypot(this.x[i] - wx, this.y[i] - wy);
        if (d <= bestD) { bestD = d; best = i; }
      });
      return best;
    }

    /** The section under the world point (its seats' box, one pitch around), or the nearest
     * within four pitches; null when none. */
    zoneAt(wx, wy) {
      let best = null; let bestD = this.pitch * 4;
      for (const z of this.zones) {
        const b = z.bounds;
        const dx = Math.max(b.min_x - wx, 0, wx - b.max_x);
        const dy = Math.max(b.min_y - wy, 0, wy - b.max_y);
        const d = Math.hypot(dx, dy) - this.pitch;
        if (d <= 0 && best && bestD <= 0) {  // inside two boxes: the smaller one
          const area = (x) => (x.bounds.max_x - x.bounds.min_x) * (x.bounds.max_y - x.bounds.min_y);
          if (area(z) < area(best)) best = z;
        } else if (d < bestD || (d <= 0 && bestD > 0)) { best = z; bestD = d; }
      }
      return best;
    }

    // ------------------------------------------------------------ view

    resize() {
      const rect = this.container.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      const w = Math.max(1, Math.round(rect.width)); const h = Math.max(1, Math.round(rect.height));
      if (w === this.w && h === this.h && dpr === this.dpr) return false;
      const centre = this.w ? this.toWorld(this.w / 2, this.h / 2) : null;
      const wasOverview = this.atOverview();
      this.w = w; this.h = h; this.dpr = dpr;
      this.canvas.width = Math.round(w * dpr); this.canvas.height = Math.round(h * dpr);
      this.canvas.style.width = `${w}px`; this.canvas.style.height = `${h}px`;
      this.fitScale = this.computeFit();
      if (centre && !wasOverview) this.centreOn(centre.x, centre.y, this.scale);
      else this.overview(false);
      return true;
    }

    computeFit() {
      const b = this.bounds; const m = this.pitch;
      const bw = b.max_x - b.min_x + 2 * m; const bh = b.max_y - b.min_y + 2 * m;
      return Math.min(this.w / bw, this.h / bh);
    }

    atOverview() { return !this.w || Math.abs(this.scale - this.fitScale) < 1e-9; }

    toWorld(sx, sy) { return { x: (sx - this.tx) / this.scale, y: (sy - this.ty) / this.scale }; }

    clampScale(s) { return Math.min(MAX_PITCH / this.pitch, Math.max(this.fitScale, s)); }

    /** Shows world point (wx, wy) in the middle at `scale`, kept inside the plan. */
    centreOn(wx, wy, scale) {
      this.scale = this.clampScale(scale);
      this.tx = this.w / 2 - wx * this.scale;
      this.ty = this.h / 2 - wy * this.scale;
      this.keepInside();
      this.request();
    }

    /** No panning the plan out of sight: its box stays over the middle of the canvas. */
    keepInside() {
      const b = this.bounds; const s = this.scale;
      const left = b.min_x * s + this.tx; const right = b.max_x * s + this.tx;
      const top = b.min_y * s + this.ty; const bottom = b.max_y * s + this.ty;
      if (right - left <= this.w) this.tx += this.w / 2 - (left + right) / 2;
      else if (left > this.w / 2) this.tx -= left - this.w / 2;
      else if (right < this.w / 2) this.tx += this.w / 2 - right;
      if (bottom - top <= this.h) this.ty += this.h / 2 - (top + bottom) / 2;
      else if (top > this.h / 2) this.ty -= top - this.h / 2;
      else if (bottom < this.h / 2) this.ty += this.h / 2 - bottom;
    }

    /** The whole venue in view. */
    overview(announce = true) {
      const b = this.bounds;
      this.centreOn((b.min_x + b.max_x) / 2, (b.min_y + b.max_y) / 2, this.fitScale);
      if (announce && this.opts.zoomed) this.opts.zoomed(null);
    }

    /** Zoom by `factor` around the CSS point (sx, sy) (the middle when omitted). */
    zoomBy(factor, sx = this.w / 2, sy = this.h / 2) {
      const before = this.toWorld(sx, sy);
      this.scale = this.clampScale(this.scale * factor);
      this.tx = sx - before.x * this.scale;
      this.ty = sy - before.y * this.scale;
      this.keepInside();
      this.request();
    }

    /** Zoom into a section so its seats are big enough to tap (centred on `near` when the
     * section is wider than the view at that size). */
    zoomToZone(zone, near) {
      const b = zone.bounds; const m = this.pitch;
      const fit = Math.min(this.w / (b.max_x - b.min_x + 2 * m), this.h / (b.max_y - b.min_y + 2 * m));
      const tap = TOUCH_PITCH / this.pitch;
      const scale = Math.max(fit, tap);
      let cx = (b.min_x + b.max_x) / 2; let cy = (b.min_y + b.max_y) / 2;
      if (fit < tap && near) {
        const halfW = this.w / 2 / scale; const halfH = this.h / 2 / scale;
        cx = Math.min(Math.max(near.x, b.min_x - m + halfW), b.max_x + m - halfW);
        cy = Math.min(Math.max(near.y, b.min_y - m + halfH), b.max_y + m - halfH);
        if (b.max_x - b.min_x + 2 * m < 2 * halfW) cx = (b.min_x + b.max_x) / 2;
        if (b.max_y - b.min_y + 2 * m < 2 * halfH) cy = (b.min_y + b.max_y) / 2;
      }
      this.centreOn(cx, cy, scale);
      if (this.opts.zoomed) this.opts.zoomed(zone);
    }

    /** Pans (and zooms in, if the seats are too small to aim at) so seat i is in view and
     * tappable; returns its CSS position in the viewport ({x, y}). */
    reveal(i, pitch = TOUCH_PITCH) {
      this.canvas.scrollIntoView({ block: 'nearest' });
      const want = pitch / this.pitch;
      const sx = this.x[i] * this.scale + this.tx; const sy = this.y[i] * this.scale + this.ty;
      const margin = this.r * this.scale + 4;
      if (this.scale < want * 0.999) this.centreOn(this.x[i], this.y[i], want);
      else if (sx < margin || sy < margin || sx > this.w - margin || sy > this.h - margin) {
        this.centreOn(this.x[i], this.y[i], this.scale);
      }
      this.draw();
      return this.clientPoint(i);
    }

    /** Seat i's centre in viewport CSS pixels (for pointer events). */
    clientPoint(i) {
      const rect = this.canvas.getBoundingClientRect();
      return { x: rect.left + this.x[i] * this.scale + this.tx, y: rect.top + this.y[i] * this.scale + this.ty };
    }

    /** The CSS pixels between seat centres at the current zoom. */
    screenPitch() { return this.pitch * this.scale; }

    // ------------------------------------------------------------ drawing

    /** Seat i's look changed. Past a tenth of the plan (a snapshot that changed much), one
     * redraw of the whole bitmap is cheaper than patching seat by seat. */
    invalidate(i) {
      if (!this.cacheAll) {
        this.cacheDirty.add(i);
        if (this.cacheDirty.size > this.n / 10) this.invalidateAll();
      }
      this.request();
    }

    /** Every seat's look may have changed (a snapshot). */
    invalidateAll() {
      this.cacheAll = true;
      this.cacheDirty.clear();
      this.request();
    }

    request() {
      if (this.frame) return;
      this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
    }

    /** The whole plan drawn once into a bitmap (then patched seat by seat). */
    updateCache() {
      const b = this.bounds; const m = this.pitch;
      if (!this.cache) {
        const side = Math.max(b.max_x - b.min_x, b.max_y - b.min_y) + 2 * m;
        const scale = Math.min(4, CACHE_MAX_SIDE / side);
        const c = document.createElement('canvas');
        c.width = Math.ceil((b.max_x - b.min_x + 2 * m) * scale);
        c.height = Math.ceil((b.max_y - b.min_y + 2 * m) * scale);
        this.cache = { canvas: c, ctx: c.getContext('2d'), scale, ox: b.min_x - m, oy: b.min_y - m };
      }
      const { ctx, scale, ox, oy, canvas } = this.cache;
      // Seats in the bitmap are drawn at least 1.5 CSS px wide at the whole-venue zoom (up to
      // touching each other), so the overview shows sections, not a haze of specks.
      const r = Math.max(this.r, Math.min(this.pitch * 0.55, 1.5 / this.fitScale));
      if (r !== this.cache.r) { this.cache.r = r; this.cacheAll = true; }
      ctx.setTransform(scale, 0, 0, scale, -ox * scale, -oy * scale);
      if (this.cacheAll) {
        ctx.save(); ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.clearRect(0, 0, canvas.width, canvas.height); ctx.restore();
        for (let i = 0; i < this.n; i++) this.drawOne(ctx, i, r);
        this.cacheAll = false;
      } else {
        for (const i of this.cacheDirty) {
          ctx.save();
          ctx.globalCompositeOperation = 'destination-out';
          ctx.beginPath(); ctx.arc(this.x[i], this.y[i], r + 1 / scale, 0, 2 * Math.PI); ctx.fill();
          ctx.restore();
          this.drawOne(ctx, i, r);
        }
      }
      this.cacheDirty.clear();
    }

    drawOne(ctx, i, r = this.r) {
      drawSeat(ctx, this.x[i], this.y[i], r, this.opts.look(i), this.opts.color(i), this.wheelchair[i], this.opts.busy(i));
    }

    draw() {
      if (this.frame) { cancelAnimationFrame(this.frame); this.frame = 0; }
      this.updateCache();
      const ctx = this.ctx; const dpr = this.dpr; const s = this.scale;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
      const v0 = this.toWorld(0, 0); const v1 = this.toWorld(this.w, this.h);
      const pad = this.r * 2;
      let inView = 0;
      const sharp = s * dpr > this.cache.scale * 1.05;
      if (sharp) this.eachIn(v0.x - pad, v0.y - pad, v1.x + pad, v1.y + pad, () => { inView += 1; });
      ctx.setTransform(s * dpr, 0, 0, s * dpr, this.tx * dpr, this.ty * dpr);
      this.drawGa(ctx);
      if (sharp && inView <= VECTOR_MAX) {
        this.eachIn(v0.x - pad, v0.y - pad, v1.x + pad, v1.y + pad, (i) => this.drawOne(ctx, i));
        this.mode = 'vector';
      } else {
        const c = this.cache;
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(c.canvas, c.ox, c.oy, c.canvas.width / c.scale, c.canvas.height / c.scale);
        this.mode = 'bitmap';
      }
      if (this.focus >= 0 && this.keyboard && document.activeElement === this.canvas) {
        ctx.strokeStyle = INK.focus; ctx.lineWidth = Math.max(3 / s, this.r * 0.3);
        ctx.beginPath(); ctx.arc(this.x[this.focus], this.y[this.focus], this.r + ctx.lineWidth, 0, 2 * Math.PI); ctx.stroke();
      }
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      this.drawLabels(ctx);
      this.drawn = (this.drawn || 0) + 1;
    }

    drawGa(ctx) {
      if (!this.ga.length) return;
      ctx.font = `600 ${14 / this.scale}px system-ui, sans-serif`;
      ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
      for (const area of this.ga) {
        const text = ctx.measureText(area.zone).width;
        this.gaWidths.set(area.zone, text * this.scale);
        const wpx = text + 16 / this.scale; const hpx = 28 / this.scale;
        ctx.setLineDash([6 / this.scale, 4 / this.scale]);
        ctx.strokeStyle = INK.ga; ctx.lineWidth = 1.5 / this.scale;
        ctx.strokeRect(area.x - wpx / 2, area.y - hpx / 2, wpx, hpx);
        ctx.setLineDash([]);
        ctx.fillStyle = INK.ga; ctx.fillText(area.zone, area.x, area.y);
      }
    }

    /** Section names where they cover no seat and no other name, inside the canvas; a name
     * that fits nowhere at this zoom is left out. */
    drawLabels(ctx) {
      ctx.font = LABEL_FONT; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
      const placed = this.gaBoxes(); const s = this.scale; const r = this.r;
      const h = 18; const gap = 4;
      for (const z of this.zones) {
        let w = this.labelWidths.get(z.name);
        if (w === undefined) { w = ctx.measureText(z.name).width + 8; this.labelWidths.set(z.name, w); }
        const b = z.bounds;
        const L = b.min_x * s + this.tx; const R = b.max_x * s + this.tx;
        const T = b.min_y * s + this.ty; const B = b.max_y * s + this.ty;
        if (R < 0 || L > this.w || B < 0 || T > this.h) continue;
        const rs = r * s;
        const cx = Math.min(Math.max((L + R) / 2, w / 2 + 2), this.w - w / 2 - 2);
        const cy = Math.min(Math.max((T + B) / 2, h / 2 + 2), this.h - h / 2 - 2);
        const candidates = [
          [cx, T - rs - gap - h / 2], [cx, B + rs + gap + h / 2],
          [L - rs - gap - w / 2, cy], [R + rs + gap + w / 2, cy], [cx, cy],
        ];
        for (const [x, y] of candidates) {
          const box = { x0: x - w / 2, y0: y - h / 2, x1: x + w / 2, y1: y + h / 2 };
          if (box.x0 < 0 || box.y0 < 0 || box.x1 > this.w || box.y1 > this.h) continue;
          if (placed.some((p) => box.x0 < p.x1 && box.x1 > p.x0 && box.y0 < p.y1 && box.y1 > p.y0)) continue;
          if (this.coversSeat(box)) continue;
          placed.push(box);
          ctx.fillStyle = 'rgba(255,255,255,.85)';
          ctx.fillRect(box.x0, box.y0, w, h);
          ctx.fillStyle = INK.label;
          ctx.fillText(z.name, x, y + 0.5);
          break;
        }
      }
      this.labels = placed.length;
    }

    /** The CSS boxes of the general-admission names (labels keep off them). */
    gaBoxes() {
      return this.ga.map((a) => {
        const x = a.x * this.scale + this.tx; const y = a.y * this.scale + this.ty;
        const w = (this.gaWidths.get(a.zone) || 120) / 2 + 8;
        return { x0: x - w, y0: y - 14, x1: x + w, y1: y + 14 };
      });
    }

    /** True when a seat (its disc) overlaps the CSS box. */
    coversSeat(box) {
      const s = this.scale; const r = this.r;
      const w0 = this.toWorld(box.x0, box.y0); const w1 = this.toWorld(box.x1, box.y1);
      let hit = false;
      this.eachIn(w0.x - r, w0.y - r, w1.x + r, w1.y + r, (i) => {
        if (hit) return;
        const nx = Math.min(Math.max(this.x[i], w0.x), w1.x); const ny = Math.min(Math.max(this.y[i], w0.y), w1.y);
        if (Math.hypot(this.x[i] - nx, this.y[i] - ny) < r + 1 / s) hit = true;
      });
      return hit;
    }

    // ------------------------------------------------------------ input

    listen() {
      const c = this.canvas;
      c.addEventListener('pointerdown', (e) => this.onDown(e));
      c.addEventListener('pointermove', (e) => this.onMove(e));
      c.addEventListener('pointerup', (e) => this.onUp(e));
      c.addEventListener('pointercancel', (e) => { this.pointers.delete(e.pointerId); this.gesture = null; });
      c.addEventListener('pointerleave', (e) => { if (e.pointerType === 'mouse' && this.opts.hover) this.opts.hover(-1, e); });
      c.addEventListener('wheel', (e) => {
        e.preventDefault();
        const p = this.local(e);
        const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
        this.zoomBy(Math.exp(-delta * 0.0015), p.x, p.y);
      }, { passive: false });
      c.addEventListener('keydown', (e) => this.onKey(e));
      c.addEventListener('focus', () => {
        if (this.focus < 0) this.setFocus(this.nearestToCentre(), false);
        this.request();
      });
      c.addEventListener('blur', () => this.request());
      if (window.ResizeObserver) new ResizeObserver(() => { if (this.resize()) this.draw(); }).observe(this.container);
    }

    local(e) {
      const rect = this.canvas.getBoundingClientRect();
      return { x: e.clientX - rect.left, y: e.clientY - rect.top };
    }

    onDown(e) {
      this.keyboard = false;
      if (e.pointerType === 'mouse' && e.button !== 0) return;
      this.canvas.setPointerCapture(e.pointerId);
      const p = this.local(e);
      this.pointers.set(e.pointerId, p);
      if (this.pointers.size === 1) {
        this.gesture = { kind: 'drag', x: p.x, y: p.y, tx: this.tx, ty: this.ty, moved: false, type: e.pointerType };
      } else if (this.pointers.size === 2) {
        const [a, b] = [...this.pointers.values()];
        const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
        this.gesture = { kind: 'pinch', dist: Math.hypot(a.x - b.x, a.y - b.y) || 1, world: this.toWorld(mid.x, mid.y), scale: this.scale, moved: true };
      }
    }

    onMove(e) {
      const p = this.local(e);
      if (!this.pointers.has(e.pointerId)) {
        if (e.pointerType === 'mouse' && this.opts.hover) {
          const w = this.toWorld(p.x, p.y);
          this.opts.hover(this.seatAt(w.x, w.y), e);
        }
        return;
      }
      this.pointers.set(e.pointerId, p);
      const g = this.gesture;
      if (!g) return;
      if (g.kind === 'drag') {
        const dx = p.x - g.x; const dy = p.y - g.y;
        if (!g.moved && Math.hypot(dx, dy) < TAP_SLOP) return;
        g.moved = true;
        this.tx = g.tx + dx; this.ty = g.ty + dy;
        this.keepInside();
        this.request();
      } else if (g.kind === 'pinch' && this.pointers.size >= 2) {
        const [a, b] = [...this.pointers.values()];
        const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
        this.scale = this.clampScale(g.scale * Math.hypot(a.x - b.x, a.y - b.y) / g.dist);
        this.tx = mid.x - g.world.x * this.scale; this.ty = mid.y - g.world.y * this.scale;
        this.keepInside();
        this.request();
      }
    }

    onUp(e) {
      const g = this.gesture;
      const had = this.pointers.delete(e.pointerId);
      if (this.pointers.size === 0) this.gesture = null;
      else if (g && g.kind === 'pinch') {  // one finger left: it drags from here, it is no tap
        const [q] = [...this.pointers.values()];
        this.gesture = { kind: 'drag', x: q.x, y: q.y, tx: this.tx, ty: this.ty, moved: true, type: 'touch' };
      }
      if (!had || !g || g.kind !== 'drag' || g.moved) return;
      this.tap(this.local(e), e.pointerType);
    }

    /** A tap or click at CSS point p: choose the seat there if seats are big enough to aim at,
     * else zoom into the section there. */
    tap(p, pointerType) {
      const w = this.toWorld(p.x, p.y);
      const need = pointerType === 'mouse' ? MOUSE_PITCH : TOUCH_PITCH * 0.7;
      if (this.screenPitch() >= need) {
        const i = this.seatAt(w.x, w.y);
        if (i >= 0) { this.setFocus(i, false); this.opts.choose(i); }
        return;
      }
      const zone = this.zoneAt(w.x, w.y);
      if (zone) this.zoomToZone(zone, w);
      else this.zoomBy(2.5, p.x, p.y);
    }

    nearestToCentre() {
      const c = this.toWorld(this.w / 2, this.h / 2); let best = -1; let bestD = Infinity;
      for (let i = 0; i < this.n; i++) {
        const d = (this.x[i] - c.x) ** 2 + (this.y[i] - c.y) ** 2;
        if (d < bestD) { bestD = d; best = i; }
      }
      return best;
    }

    /** The nearest seat from seat i in direction (dx, dy) (within 45° of it), or -1. */
    neighbour(i, dx, dy) {
      let best = -1; let bestScore = Infinity;
      const x0 = this.x[i]; const y0 = this.y[i];
      for (let j = 0; j < this.n; j++) {
        if (j === i) continue;
        const vx = this.x[j] - x0; const vy = this.y[j] - y0;
        const along = vx * dx + vy * dy;
        if (along <= this.pitch * 0.25) continue;
        const across = Math.abs(vx * dy - vy * dx);
        if (across > along) continue;
        const score = along + 2.5 * across;
        if (score < bestScore) { bestScore = score; best = j; }
      }
      return best;
    }

    setFocus(i, show = true) {
      if (i < 0) return;
      this.focus = i;
      if (show) this.reveal(i, Math.max(this.screenPitch(), MOUSE_PITCH * 1.6));
      else this.request();
      if (this.opts.focused) this.opts.focused(i);
    }

    onKey(e) {
      this.keyboard = true;  // the focus ring shows once the keyboard is used, not after a tap
      const dirs = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
      if (dirs[e.key]) {
        e.preventDefault();
        if (this.focus < 0) { this.setFocus(this.nearestToCentre()); return; }
        const j = this.neighbour(this.focus, ...dirs[e.key]);
        if (j >= 0) this.setFocus(j);
      } else if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        if (this.focus >= 0) this.opts.choose(this.focus);
      } else if (e.key === '+' || e.key === '=') {
        e.preventDefault(); this.zoomBy(1.5);
      } else if (e.key === '-' || e.key === '_') {
        e.preventDefault(); this.zoomBy(1 / 1.5);
      } else if (e.key === '0') {
        e.preventDefault(); this.overview();
      }
    }

    /** A small canvas showing `look` as on the map (for the legend); decorative. */
    static icon(look, color, wheelchair = false, size = 18) {
      const c = document.createElement('canvas');
      const dpr = window.devicePixelRatio || 1;
      c.width = c.height = Math.round(size * dpr);
      c.style.width = c.style.height = `${size}px`;
      c.className = 'legend__icon';
      c.setAttribute('aria-hidden', 'true');
      const ctx = c.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      drawSeat(ctx, size / 2, size / 2, size / 2 - 1, look, color, wheelchair, false);
      return c;
    }
  }

  SeatCanvas.LOOKS = LOOKS;
  window.SeatCanvas = SeatCanvas;
})();
