/*
 * Seatline seat map: static/js/seatmap.js (plain ES2020, no build step, no dependencies).
 *
 * What it does
 *   Shows the seating plan of one showtime on a canvas (static/js/seatcanvas.js: zoom, pan,
 *   taps, keyboard) and as a list (sections → rows → seats), keeps both live over a WebSocket,
 *   lets a signed-in buyer hold a seat by choosing it and release it by choosing it again, shows
 *   the held seats with prices, a countdown to the hold's expiry, and checks out (order, pay,
 *   tickets).
 *
 * What it calls (contract: docs/api.md and docs/realtime.md)
 *   GET  /api/v1/showtimes/ID/             categories (price, display_color), currency, hold TTL, max
 *                                          seats, layout {version, url, seats}
 *   GET  layout.url                        the plan layout (geometry; immutable, cached by the browser)
 *   GET  /api/v1/showtimes/ID/live/        the live form: status and version per seat, in layout order
 *   GET  /api/v1/holds/HOLD/               restore the hold named by data-hold (a 404 is ignored)
 *   POST /api/v1/showtimes/ID/holds/       {"seats": [guid]}  hold a seat (adds to my active hold)
 *   POST /api/v1/holds/HOLD/release/       {"seats": [guid]}  release a seat
 *   POST /api/v1/holds/HOLD/extend/        (no body)  more time, offered by an "Extend" button once
 *                                          hold.expiring arrives while the hold has extensions_left
 *   POST /api/v1/orders/                   Idempotency-Key header; {"hold", "customer", "payment_method"}
 *   POST /api/v1/orders/ORDER/pay/         {}
 *   Every call sends X-Queue-Pass when the showtime has a waiting room and the buyer was admitted
 *   (data-queue-pass, or sessionStorage seatline.queuePass.ID kept by static/js/queue.js); a 403
 *   queue_required reloads the page, which then shows the waiting room (docs/waiting-room.md).
 *   GET  /api/v1/orders/ORDER/tickets/
 *   WS   /ws/showtimes/ID/                 in: snapshot (the live form), seats.changed, hold.updated,
 *                                          hold.expiring, hold.expired, order.updated, pong, error;
 *                                          out: ping (25 s), resync
 *
 * Rules it follows
 *   - A frame's seat is applied only when its version is greater than the one held; a snapshot replaces all.
 *   - A seats.changed frame of another `epoch` than the snapshot's, or a gap in its `seq`, sends
 *     {"type": "resync"}; a `seq` already covered is skipped. The server may also send a snapshot
 *     unprompted (after a fault); any snapshot replaces the map. The server answers a resync with a snapshot
 *     (within a second: it coalesces resyncs). One resync at a time: more gaps before the snapshot
 *     arrives send nothing more (the server closes a socket that floods it with 4429).
 *   - Reconnects with exponential backoff (0.5 s doubling to 15 s) plus jitter; the server sends a
 *     fresh snapshot on every connect. Close codes (docs/realtime.md): 4404 stops (the showtime is
 *     gone); 4429 (flooding) and 4009 (a frame over 4 KiB: a bug here) reconnect after 10–13 s, so
 *     a client that keeps tripping a limit never reconnects in a tight loop.
 *   - The countdown uses the server clock, estimated from the snapshot's `as_of` (and pong's server_time).
 *   - "Extend" shows after a hold.expiring frame for the hold's current expires_at when the hold has
 *     extensions_left > 0, and hides once expires_at moves (the extend answer or hold.updated) or on
 *     409 extension_limit (its message is said, and the hold is taken as having none left).
 *
 * DOM (templates/seats/showtime_detail.html): #seatmap-app[data-showtime, data-authenticated, data-hold,
 *   data-queue-pass, data-login-url] and #connection, #message, #prices, #legend, #map (the canvas goes in), #map-tip,
 *   #map-where, #map-focus (says the seat the keyboard is on), #zoom-in, #zoom-out, #zoom-reset,
 *   #list-toggle, #seat-list, #my-seats, #total, #countdown, #extend-hold, #limits, #checkout-form,
 *   #checkout-fields, #checkout-errors, #tickets. In the list view a seat is
 *   <button class="list-seat s-STATUS" data-seat-id="GUID" data-status="STATUS">, STATUS one of
 *   available | mine | held | reserved | sold | blocked. #seatmap-app gets data-ready="true" once drawn.
 *   window.seatmap = {state, ws, canvas, status(guid), text(guid), reveal(guid, pointer)} for
 *   debugging and the browser tests.
 *
 * Language (docs/i18n.md): every text for people goes through Django's JavaScriptCatalog
 *   (/jsi18n/, loaded before this script: gettext, ngettext, pgettext, interpolate), so the
 *   page speaks the language it was rendered in (<html lang>); without the catalog the English
 *   source text shows. Money and times use the browser's Intl with that language (฿1,250.00 in
 *   Thai). API requests carry Accept-Language: <html lang>, so error.message comes back in the
 *   page's language (the language cookie, which the server honours first, says the same).
 *   seats/tests/test_seatmap_strings.py fails on a text left outside gettext.
 */
(() => {
  'use strict';

  const root = document.getElementById('seatmap-app');
  if (!root) return;

  const API = '/api/v1';
  // The waiting room's pass (docs/waiting-room.md): rendered by the server for an admitted buyer,
  // else the one static/js/queue.js kept; sent as X-Queue-Pass on every API call.
  const QUEUE_PASS = (root && root.dataset.queuePass) || (() => {
    try { return sessionStorage.getItem(`seatline.queuePass.${root && root.dataset.showtime}`) || ''; } catch (err) { return ''; }
  })();
  const PING_MS = 25000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  const POLICY_RETRY_MS = 10000;   // reconnect delay after 4429 / 4009 (plus up to 30 % jitter)
  const RESYNC_WAIT_MS = 5000;     // a resync without its snapshot by then may be sent again
  const WARN_SECONDS = 60;

  // ---------------------------------------------------------------- language

  const gettext = window.gettext || ((msgid) => msgid);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const pgettext = window.pgettext || ((context, msgid) => msgid);
  const interpolate = window.interpolate
    || ((fmt, obj) => fmt.replace(/%\(\w+\)s/g, (m) => String(obj[m.slice(2, -2)])));
  /** `fmt` with its %(name)s placeholders filled from `values` (Django's interpolate, named). */
  const format = (fmt, values) => interpolate(fmt, values, true);
  const LINK = '%(link)s';   // where say() puts its link: a placeholder a format keeps as it is
  const LANG = document.documentElement.lang || 'en';

  // The status words of a seat, as its tooltip and aria-label end ("Seat A1, Front, €80.00, sold").
  const STATUS_WORDS = {
    available: pgettext('seat status', 'available'),
    mine: pgettext('seat status', 'held by you'),
    held: pgettext('seat status', 'held'),
    reserved: pgettext('seat status', 'reserved'),
    sold: pgettext('seat status', 'sold'),
    blocked: pgettext('seat status', 'not for sale'),
  };
  const CONNECTION_TEXT = {
    connecting: gettext('Connecting…'),
    live: gettext('Live'),
    reconnecting: gettext('Reconnecting…'),
    offline: gettext('Offline'),
  };

  const $ = (id) => document.getElementById(id);
  const ui = {
    connection: $('connection'), message: $('message'), prices: $('prices'), legend: $('legend'),
    map: $('map'), mySeats: $('my-seats'), total: $('total'), countdown: $('countdown'),
    countdownTime: $('countdown-time'), countdownNote: $('countdown-note'), limits: $('limits'),
    extend: $('extend-hold'),
    form: $('checkout-form'), fields: $('checkout-fields'), formErrors: $('checkout-errors'),
    submit: $('checkout-submit'), tickets: $('tickets'),
    bestForm: $('best-form'), bestCategory: $('best-category'), gaZones: $('ga-zones'),
    gaList: $('ga-list'), mapFocus: $('map-focus'), mapWhere: $('map-where'), mapTip: $('map-tip'),
    seatList: $('seat-list'), listToggle: $('list-toggle'), zoomIn: $('zoom-in'), zoomOut: $('zoom-out'),
    zoomReset: $('zoom-reset'),
  };

  const state = {
    showtimeId: root.dataset.showtime,
    authenticated: root.dataset.authenticated === 'true',
    loginUrl: root.dataset.loginUrl || '/accounts/login/',
    showtime: null,          // GET showtimes/ID/ answer
    currency: root.dataset.currency || '',
    layout: null,            // the plan layout drawn (docs/api.md "Plan layout")
    layoutLoading: null,     // {version, promise} of a layout on its way
    entries: [],             // per seat in the layout's order: {i, zone, seat, status, version, shown, busy, button}
    seats: new Map(),        // guid → the same entry
    canvas: null,            // the SeatCanvas (static/js/seatcanvas.js)
    listZones: null,         // list view: zone → {details, summary, entries} once built
    listDirty: null,         // zones whose summary is out of date
    hold: null,              // my active hold (API shape) or null
    holdSeats: new Set(),    // guids of state.hold.seats
    extendFor: null,         // the expires_at a hold.expiring offered "Extend" for (null: none)
    extendBusy: false,
    order: null,             // the order of the current checkout {id, number, status, ...}
    ticketsShownFor: null,   // order id whose tickets are on screen
    checkoutKey: null,       // Idempotency-Key of the current checkout attempt (reused on retry)
    checkoutBusy: false,
    lastSeq: null,           // seq the map is current to
    epoch: undefined,        // the numbering lastSeq belongs to (a new one means: resync)
    ga: new Map(),           // general-admission zone → {zone, capacity, available, price, qty}
    skewMs: 0,               // server clock minus local clock
    ws: null,
    connection: 'connecting',
    retries: 0,
    retryTimer: null,
    pingTimer: null,
    resyncSentAt: 0,         // when the unanswered resync went out (0: none outstanding)
  };

  // ---------------------------------------------------------------- helpers

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    const input = document.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : '';
  }

  /** fetch wrapper: resolves to {ok, status, data, error: {code, message, details}}; never throws. */
  async function api(method, path, body, headers = {}) {
    const opts = {
      method,
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'Accept-Language': LANG, ...headers },
    };
    if (QUEUE_PASS) opts.headers['X-Queue-Pass'] = QUEUE_PASS;
    if (method !== 'GET') {
      opts.headers['Content-Type'] = 'application/json';
      opts.headers['X-CSRFToken'] = csrfToken();
      if (body !== undefined) opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(API + path, opts);
    } catch (err) {
      return { ok: false, status: 0, data: null,
        error: { code: 'network_error', message: gettext('Network problem: please check your connection and try again.'), details: {} } };
    }
    let data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch (err) { data = null; }
    }
    if (res.ok) return { ok: true, status: res.status, data };
    if (res.status === 403 && data && data.error && data.error.code === 'queue_required') {
      window.location.reload();   // no valid pass (any more): the server shows the waiting room
    }
    const error = Object.assign(
      { code: `http_${res.status}`, message: format(gettext('The server answered %(status)s.'), { status: res.status }) },
      data && data.error, {});
    error.details = error.details || {};
    const retryAfter = Number(res.headers.get('Retry-After'));
    if (res.status === 429 && retryAfter > 0) {
      error.message = format(ngettext('%(message)s Please try again in %(n)s second.',
        '%(message)s Please try again in %(n)s seconds.', retryAfter), { message: error.message, n: retryAfter });
    }
    return { ok: false, status: res.status, data, error };
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));   // randomUUID needs a secure context
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  const moneyFormats = new Map();   // currency → Intl.NumberFormat
  /** `amount` (a number or a decimal string) in the showtime's currency, as the page's language
   * writes it: "฿1,250.00" in Thai, "€80.00". Without a currency, the number alone. */
  function money(amount) {
    const value = Number(amount);
    if (!state.currency || Number.isNaN(value)) return String(amount);
    if (!moneyFormats.has(state.currency)) {
      let f;
      try {
        f = new Intl.NumberFormat(LANG, { style: 'currency', currency: state.currency });
      } catch (err) {   // an unknown currency code
        f = { format: (v) => `${new Intl.NumberFormat(LANG, { minimumFractionDigits: 2 }).format(v)} ${state.currency}` };
      }
      moneyFormats.set(state.currency, f);
    }
    return moneyFormats.get(state.currency).format(value);
  }
  /** Clock time of an ISO date-time in the page's language ("14:05"). */
  const timeOf = (iso) => new Intl.DateTimeFormat(LANG, { hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
  const labelList = (labels) => labels.join(', ');
  const sumMoney = (list) => (list.reduce((cents, s) => cents + Math.round(parseFloat(s.price) * 100), 0) / 100).toFixed(2);
  const labelOf = (x) => (state.seats.has(x) ? state.seats.get(x).seat.label : x);
  const serverNow = () => Date.now() + state.skewMs;

  function noteServerTime(iso) {
    const t = Date.parse(iso);
    if (!Number.isNaN(t)) state.skewMs = t - Date.now();
  }

  function h(tag, attrs = {}, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** Message area (role=status, aria-live=polite). With `link` = {href, text}, `text` is a
   * translated sentence whose "%(link)s" placeholder becomes that link. */
  function say(text, kind = 'info', link = null) {
    const m = ui.message;
    m.replaceChildren();
    m.dataset.kind = kind;
    const [before, ...after] = link ? text.split(LINK) : [text];
    m.append(before);
    if (link) m.append(h('a', { href: link.href }, link.text), after.join(''));
  }

  function saySignIn() {
    say(gettext('%(link)s to choose seats.'), 'info', { href: state.loginUrl, text: gettext('Sign in') });
  }

  function setConnection(name) {
    state.connection = name;
    ui.connection.dataset.state = name;
    ui.connection.textContent = CONNECTION_TEXT[name];
    root.dataset.connection = name;
  }

  // ---------------------------------------------------------------- drawing

  function seatText(seat, shown) {
    const values = { label: seat.label, category: seat.category, price: money(seat.price), status: STATUS_WORDS[shown] || shown };
    return format(seat.wheelchair ? gettext('Seat %(label)s (wheelchair space), %(category)s, %(price)s, %(status)s')
      : gettext('Seat %(label)s, %(category)s, %(price)s, %(status)s'), values);
  }

  /** How a seat looks now: mine, or its status. */
  const shownOf = (entry) => (state.holdSeats.has(entry.seat.id) ? 'mine' : entry.status);

  /** A seat's look changed: redraw it on the map and, when its section is open, in the list. */
  function paint(entry) {
    const shown = shownOf(entry);
    const key = shown + (entry.busy ? '/busy' : '');
    if (key === entry.shown) return;
    entry.shown = key;
    if (state.canvas) state.canvas.invalidate(entry.i);
    if (entry.button) paintButton(entry, shown);
    if (state.listZones) state.listDirty.add(entry.zone);
    scheduleList();
  }

  /** The seats of a plan layout (docs/api.md "Plan layout") as entries, in the layout's order. */
  function seatsOf(layout) {
    const L = layout.seats;
    const cats = layout.categories || [];
    const prices = new Map((state.showtime.categories || []).map((c) => [c.name, c.price]));
    const wheelchair = new Set(L.wheelchair || []);
    const entries = [];
    for (let i = 0; i < L.count; i++) {
      const cat = cats[L.category[i]] || null;
      const zone = (layout.zones[L.zone[i]] || {}).name || '';
      entries.push({
        i, zone,
        seat: { id: L.id[i], label: L.label[i], zone, row: L.row[i], number: L.number[i],
          category: cat ? cat.name : '', color: cat ? cat.display_color : '#6b7280',
          price: cat ? prices.get(cat.name) : null, wheelchair: wheelchair.has(i) },
        status: 'blocked', version: -1, shown: null, busy: false, button: null,
      });
    }
    return entries;
  }

  /** Builds the map of a layout (a new layout replaces the old map; states start as blocked at
   * version -1 until the live form or a snapshot brings them). */
  function buildMap(layout) {
    state.layout = layout;
    state.entries = seatsOf(layout);
    state.seats = new Map(state.entries.map((e) => [e.seat.id, e]));
    const entries = state.entries;
    state.canvas = new window.SeatCanvas(ui.map, layout, {
      look: (i) => shownOf(entries[i]),
      busy: (i) => entries[i].busy,
      color: (i) => entries[i].seat.color,
      choose: (i) => onSeat(entries[i].seat.id),
      focused: (i) => { ui.mapFocus.textContent = seatText(entries[i].seat, shownOf(entries[i])); },
      hover: (i, ev) => showTip(i, ev),
      zoomed: (zone) => { ui.mapWhere.textContent = zone ? zone.name : ''; },
      label: gettext('Seat map'),
      describedBy: 'map-help',
    });
    for (const e of entries) e.shown = null;
    ui.mapWhere.textContent = '';
    ui.seatList.replaceChildren();
    state.listZones = null;
    if (!ui.seatList.hidden) renderList();
  }

  /** The seat's text beside the mouse pointer (a mouse has no other way to read it). */
  function showTip(i, ev) {
    if (i < 0) { ui.mapTip.hidden = true; return; }
    const entry = state.entries[i];
    const rect = ui.map.getBoundingClientRect();
    ui.mapTip.textContent = seatText(entry.seat, shownOf(entry));
    ui.mapTip.style.left = `${Math.min(ev.clientX - rect.left + 14, rect.width - 220)}px`;
    ui.mapTip.style.top = `${ev.clientY - rect.top + 14}px`;
    ui.mapTip.hidden = false;
  }

  /** The legend: one entry per category on the map (its colour, as an available seat), then
   * every seat state drawn as the map draws it (shape and colour). */
  function renderLegend() {
    const onMap = new Set(state.entries.map((e) => e.seat.category));
    const items = (state.layout.categories || []).filter((c) => onMap.has(c.name)).map((c) => {
      const li = h('li', { class: 'legend__item', 'data-legend': 'available' });
      li.append(window.SeatCanvas.icon('available', c.display_color), format(gettext('Available: %(category)s'), { category: c.name }));
      return li;
    });
    const looks = [['mine', gettext('Your seats')], ['held', pgettext('seat status', 'Held')],
      ['reserved', pgettext('seat status', 'Reserved')], ['sold', pgettext('seat status', 'Sold')],
      ['blocked', gettext('Not for sale')]];
    for (const [look, text] of looks) {
      const li = h('li', { class: 'legend__item', 'data-legend': look });
      li.append(window.SeatCanvas.icon(look, '#6b7280'), text);
      items.push(li);
    }
    if (state.entries.some((e) => e.seat.wheelchair)) {
      const li = h('li', { class: 'legend__item', 'data-legend': 'wheelchair' });
      const first = (state.layout.categories || [])[0];
      li.append(window.SeatCanvas.icon('available', first ? first.display_color : '#0072B2', true), gettext('Wheelchair space'));
      items.push(li);
    }
    ui.legend.replaceChildren(...items);
  }

  // ---------------------------------------------------------------- list view

  /** The list view (an alternative to the map for screen readers and small screens): one
   * collapsible section per zone with its free seats and prices; rows and seats are made when
   * the section is opened. */
  function renderList() {
    const zones = new Map();
    for (const e of state.entries) {
      if (!zones.has(e.zone)) zones.set(e.zone, []);
      zones.get(e.zone).push(e);
    }
    state.listZones = new Map();
    state.listDirty = new Set();
    ui.seatList.replaceChildren(...[...zones].map(([zone, entries]) => {
      const details = h('details', { class: 'seat-list__zone', 'data-zone': zone });
      const summary = h('summary', { class: 'seat-list__summary' });
      details.append(summary);
      details.addEventListener('toggle', () => { if (details.open) fillZone(details, entries); });
      state.listZones.set(zone, { details, summary, entries });
      summarise(zone);
      return details;
    }));
  }

  function summarise(zone) {
    const z = state.listZones && state.listZones.get(zone);
    if (!z) return;
    const free = z.entries.filter((e) => shownOf(e) === 'available');
    const prices = [...new Set(free.map((e) => Number(e.seat.price)).filter((x) => !Number.isNaN(x)))].sort((a, b) => a - b);
    const price = !prices.length ? '' : (prices.length === 1 ? money(prices[0])
      : format(gettext('%(low)s to %(high)s'), { low: money(prices[0]), high: money(prices[prices.length - 1]) }));
    z.summary.replaceChildren(h('span', { class: 'seat-list__name' }, zone),
      h('span', { class: 'seat-list__free muted' }, [format(ngettext('%(free)s of %(total)s seat available',
        '%(free)s of %(total)s seats available', z.entries.length), { free: free.length, total: z.entries.length }), price].filter(Boolean).join(' · ')));
  }

  let listFrame = 0;
  function scheduleList() {
    if (listFrame || !state.listDirty || !state.listDirty.size) return;
    listFrame = requestAnimationFrame(() => {
      listFrame = 0;
      for (const zone of state.listDirty) summarise(zone);
      state.listDirty.clear();
    });
  }

  function fillZone(details, entries) {
    if (details.dataset.filled) return;
    details.dataset.filled = 'true';
    const rows = new Map();
    for (const e of entries) {
      if (!rows.has(e.seat.row)) rows.set(e.seat.row, []);
      rows.get(e.seat.row).push(e);
    }
    const body = h('div', { class: 'seat-list__rows' });
    for (const [row, list] of rows) {
      const group = h('div', { class: 'seat-list__row', role: 'group' });
      const title = h('h4', { class: 'seat-list__row-title', id: `row-${uuid()}` }, format(gettext('Row %(row)s'), { row }));
      group.setAttribute('aria-labelledby', title.id);
      const seats = h('div', { class: 'seat-list__seats' });
      for (const e of list) {
        e.button = h('button', { type: 'button', class: 'list-seat', 'data-seat-id': e.seat.id }, e.seat.number);
        e.button.addEventListener('click', () => onSeat(e.seat.id));
        paintButton(e, shownOf(e));
        seats.append(e.button);
      }
      group.append(title, seats);
      body.append(group);
    }
    details.append(body);
  }

  function paintButton(entry, shown) {
    const b = entry.button;
    b.className = `list-seat s-${shown}${entry.seat.wheelchair ? ' wheelchair' : ''}`;
    b.dataset.status = shown;
    b.setAttribute('aria-label', seatText(entry.seat, shown));
    b.setAttribute('aria-pressed', shown === 'mine' ? 'true' : 'false');
    if (entry.busy || (shown !== 'available' && shown !== 'mine')) b.setAttribute('aria-disabled', 'true');
    else b.removeAttribute('aria-disabled');
  }

  function toggleList() {
    const open = ui.seatList.hidden;
    ui.seatList.hidden = !open;
    ui.listToggle.setAttribute('aria-expanded', String(open));
    if (open && !state.listZones) renderList();
  }

  function renderPrices() {
    const cats = state.showtime.categories || [];
    ui.prices.replaceChildren(...cats.map((c) => {
      const li = h('li', { class: 'prices__item' });
      li.append(window.SeatCanvas.icon('available', c.display_color || c.color || '#6b7280', false, 14),
        h('span', { class: 'prices__name' }, c.name), h('span', { class: 'prices__price' }, money(c.price)));
      return li;
    }));
    const ttl = state.showtime.hold_ttl_seconds;
    const max = state.showtime.max_seats_per_order;
    const minutes = Math.round(ttl / 60);
    // One sentence a line: Thai has no spaces between words, so a sentence starting mid-line
    // wraps at a word break inside the next one ("คำสั่ง|ซื้อ").
    ui.limits.replaceChildren(...[
      ttl ? format(ngettext('Seats are held for %(n)s minute.', 'Seats are held for %(n)s minutes.', minutes), { n: minutes }) : '',
      max ? format(ngettext('Up to %(n)s seat per order.', 'Up to %(n)s seats per order.', max), { n: max }) : '',
    ].filter(Boolean).map((text) => h('span', { class: 'limits__item' }, text)));
  }

  // ---------------------------------------------------------------- live form

  const LIVE_STATUS = ['available', 'held', 'reserved', 'sold', 'blocked'];

  /** Decodes the live form (docs/api.md "Live form"): base64 bytes holding, per seat in the
   * layout's order, the LEB128 varint of version × 8 + status code. Calls fn(i, status, version). */
  function decodeLive(live, fn) {
    const bin = atob(live.data);
    let p = 0;
    for (let i = 0; i < live.count; i++) {
      let v = 0; let mul = 1; let b;
      do { b = bin.charCodeAt(p++); v += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80 && p < bin.length);
      fn(i, LIVE_STATUS[v % 8] || 'blocked', Math.floor(v / 8));
    }
  }

  /** Applies a live form or a full seat list to the map: every seat takes the state given. */
  function applyLive(live) {
    if (!state.layout || live.layout !== state.layout.version) return false;
    decodeLive(live, (i, status, version) => {
      const entry = state.entries[i];
      if (!entry) return;
      entry.status = status; entry.version = version;
      paint(entry);
    });
    return true;
  }

  /** Loads the layout `ref` ({version, url}) unless it is the one drawn; resolves to true when
   * the map is drawn with it. The browser caches the layout (its URL never changes content). */
  async function ensureLayout(ref) {
    if (state.layout && ref && state.layout.version === ref.version) return true;
    if (!ref || !ref.url) return false;
    if (!state.layoutLoading || state.layoutLoading.version !== ref.version) {
      state.layoutLoading = { version: ref.version, promise: fetch(ref.url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then((res) => (res.ok ? res.json() : null)).catch(() => null) };
    }
    const layout = await state.layoutLoading.promise;
    if (!layout || layout.version !== ref.version) return false;
    if (!state.layout || state.layout.version !== layout.version) {
      buildMap(layout);
      renderLegend();
      for (const id of state.holdSeats) { const e = state.seats.get(id); if (e) paint(e); }
    }
    return true;
  }

  // ---------------------------------------------------------------- seat state

  /** Applies {id, status, version}: only a newer version, unless `force` (a snapshot replaces all). */
  function applySeat(x, force) {
    const entry = state.seats.get(x.id);
    if (!entry || (!force && !(x.version > entry.version))) return;
    entry.version = x.version;
    entry.status = x.status;
    paint(entry);
  }

  /** Local, optimistic status change after an API answer; the version stays, so any newer frame wins. */
  function markLocal(ids, from, to) {
    for (const id of ids) {
      const entry = state.seats.get(id);
      if (entry && from.includes(entry.status)) { entry.status = to; paint(entry); }
    }
  }

  function setBusy(ids, busy) {
    for (const id of ids) {
      const entry = state.seats.get(id);
      if (entry) { entry.busy = busy; paint(entry); }
    }
  }

  // ---------------------------------------------------------------- hold

  /** Sets (or with null / a non-active hold clears) my hold and redraws what depends on it. */
  function setHold(hold) {
    if (hold && hold.showtime != null && String(hold.showtime.id ?? hold.showtime) !== String(state.showtimeId)) return;
    const before = state.holdSeats;
    const active = hold && hold.status === 'active' && (hold.seats || []).length > 0;
    if (!active || !state.hold || state.hold.id !== hold.id) state.checkoutKey = null;
    state.hold = active ? hold : null;
    state.holdSeats = new Set(active ? hold.seats.map((x) => x.id) : []);
    for (const id of new Set([...before, ...state.holdSeats])) {
      const entry = state.seats.get(id);
      if (entry) paint(entry);
    }
    renderPanel();
    renderExtend();
    tick();
    updateCheckout();
  }

  /** "Extend" shows while the offer (a hold.expiring frame) is for the hold's current deadline. */
  function renderExtend() {
    const hold = state.hold;
    const offered = Boolean(hold && state.extendFor === hold.expires_at && hold.extensions_left > 0);
    if (!offered) state.extendFor = null;
    ui.extend.hidden = !offered;
    ui.extend.disabled = state.extendBusy;
  }

  function onExpiring(msg) {
    if (!state.hold || state.hold.id !== String(msg.hold) || !msg.expires_at) return;
    state.hold.expires_at = msg.expires_at;
    const offer = state.hold.extensions_left > 0;
    if (offer) state.extendFor = msg.expires_at;
    say(offer ? format(gettext('Your hold is about to expire. Choose "%(button)s" to keep your seats longer.'),
      { button: ui.extend.textContent.trim() }) : gettext('Your hold is about to expire.'), 'warn');
    renderExtend();
    tick();
  }

  /** "Extend": POST holds/ID/extend/; the countdown follows the answer's expires_at. */
  async function onExtend() {
    const hold = state.hold;
    if (!hold || state.extendBusy) return;
    const hadFocus = document.activeElement === ui.extend;
    state.extendBusy = true;
    renderExtend();
    let r;
    try { r = await api('POST', `/holds/${hold.id}/extend/`); } finally { state.extendBusy = false; }
    if (r.ok) {
      setHold(r.data);
      say(format(gettext('Your seats are now held for you until %(time)s.'), { time: timeOf(r.data.expires_at) }), 'success');
    } else if (r.error.code === 'extension_limit') {
      if (state.hold && state.hold.id === hold.id) state.hold.extensions_left = 0;
      renderExtend();
      say(r.error.message, 'warn');
    } else {
      renderExtend();
      handleError(r);
    }
    // When the button went away under the keyboard focus, the focus goes to the countdown.
    if (hadFocus && ui.extend.hidden && !ui.countdown.hidden) ui.countdown.focus();
  }

  /** Drops my hold locally after it expired; its seats show as available until a frame says otherwise. */
  function expireHold(text) {
    const ids = [...state.holdSeats];
    setHold(null);
    markLocal(ids, ['held'], 'available');
    say(text, 'warn');
  }

  function renderPanel() {
    const seats = state.hold ? state.hold.seats : [];
    if (!seats.length) {
      ui.mySeats.replaceChildren(h('li', { class: 'my-seats__empty muted' }, gettext('No seats selected yet.')));
      ui.total.textContent = '—';
      return;
    }
    ui.mySeats.replaceChildren(...seats.map((x) => {
      const li = h('li', { class: 'my-seats__item', 'data-hold-seat': x.id });
      li.append(h('span', { class: 'my-seats__label' }, format(gettext('Seat %(label)s'), { label: x.label })),
        h('span', { class: 'my-seats__cat muted' }, x.category),
        h('span', { class: 'my-seats__price' }, money(x.price)),
        h('button', { type: 'button', class: 'btn btn--link', 'data-release': x.id,
          'aria-label': format(gettext('Remove seat %(label)s'), { label: x.label }) }, gettext('Remove')));
      return li;
    }));
    ui.total.textContent = money(state.hold.total ?? sumMoney(seats));
  }

  /** Countdown to the hold's expires_at against the estimated server clock; runs every 0.5 s. */
  function tick() {
    const expires = state.hold ? Date.parse(state.hold.expires_at) : NaN;
    if (Number.isNaN(expires)) {
      ui.countdown.hidden = true;
      ui.countdown.classList.remove('countdown--warning');
      return;
    }
    const left = Math.max(0, Math.ceil((expires - serverNow()) / 1000));
    ui.countdown.hidden = false;
    ui.countdownTime.textContent = `${String(Math.floor(left / 60)).padStart(2, '0')}:${String(left % 60).padStart(2, '0')}`;
    const warn = left <= WARN_SECONDS;
    ui.countdown.classList.toggle('countdown--warning', warn);
    ui.countdownNote.textContent = warn ? gettext('Less than a minute left') : '';
    if (left <= 0) expireHold(gettext('Your hold expired; the seats were released.'));
  }

  async function onSeat(id) {
    const entry = state.seats.get(id);
    if (!entry) return;
    if (!state.authenticated) {
      saySignIn();
      return;
    }
    if (entry.busy) return;
    if (state.holdSeats.has(id)) { await releaseSeats([id]); return; }
    if (entry.status === 'held' || entry.status === 'reserved') {
      // Someone else holds it (holds last minutes): the same news as a click that raced them.
      say(takenText([entry.seat.label]), 'error');
      return;
    }
    if (entry.status !== 'available') {
      const text = { sold: gettext('Seat %(label)s is sold.'), blocked: gettext('Seat %(label)s is not for sale.') }[entry.status]
        || gettext('Seat %(label)s cannot be chosen.');
      say(format(text, { label: entry.seat.label }), 'info');
      return;
    }
    await holdSeats([id]);
  }

  async function holdSeats(ids) {
    setBusy(ids, true);
    let r;
    try { r = await api('POST', `/showtimes/${state.showtimeId}/holds/`, { seats: ids }); } finally { setBusy(ids, false); }
    if (!r.ok) { handleError(r, ids); return; }
    markLocal(r.data.seats.map((x) => x.id), ['available'], 'held');
    setHold(r.data);
    say(format(ngettext('Seat %(labels)s is held for you.', 'Seats %(labels)s are held for you.', ids.length),
      { labels: labelList(ids.map(labelOf)) }), 'success');
  }

  async function releaseSeats(ids) {
    if (!state.hold) return;
    setBusy(ids, true);
    let r;
    try { r = await api('POST', `/holds/${state.hold.id}/release/`, { seats: ids }); } finally { setBusy(ids, false); }
    if (!r.ok) { handleError(r, ids); return; }
    markLocal(ids, ['held'], 'available');
    setHold(r.data);
    say(format(ngettext('Seat %(labels)s released.', 'Seats %(labels)s released.', ids.length),
      { labels: labelList(ids.map(labelOf)) }), 'info');
  }

  /** "Sorry — seat A1 was just taken by someone else." for `labels` (one or more). */
  function takenText(labels) {
    return format(ngettext('Sorry — seat %(labels)s was just taken by someone else.',
      'Sorry — seats %(labels)s were just taken by someone else.', labels.length), { labels: labelList(labels) });
  }

  /** Turns an API error into a message (and a state fix where the error tells us something). */
  function handleError(r, ids = []) {
    const { code, message, details } = r.error;
    if (code === 'seat_unavailable') {
      const taken = (Array.isArray(details.seats) ? details.seats : []).map(labelOf);
      const hit = ids.filter((id) => taken.includes(labelOf(id)));
      markLocal(hit.length ? hit : ids, ['available'], 'held');
      say(taken.length ? takenText(taken) : message, 'error');
    } else if (code === 'hold_expired') {
      expireHold(gettext('Your hold expired; the seats were released.'));
    } else if (code === 'hold_not_active' || (r.status === 404 && ids.length && state.hold)) {
      setHold(null);
      say(message, 'error');
    } else if (r.status === 401) {
      say(gettext('Your session has ended. %(link)s'), 'error', { href: state.loginUrl, text: gettext('Sign in again') });
    } else {
      say(message, 'error');
    }
  }

  // ---------------------------------------------------------------- best available, GA zones

  function needSignIn() {
    if (state.authenticated) return false;
    saySignIn();
    return true;
  }

  /** "Find seats together": POST holds/best/ — the server picks n adjacent seats in one row. */
  async function onBest(ev) {
    ev.preventDefault();
    if (needSignIn()) return;
    const quantity = Number(ui.bestForm.quantity.value);
    const category = ui.bestCategory.value;
    const before = new Set(state.holdSeats);  // now: the hold.updated frame may beat the answer
    const r = await api('POST', `/showtimes/${state.showtimeId}/holds/best/`,
      category ? { quantity, category } : { quantity });
    if (!r.ok) {
      const tip = r.error.details && r.error.details.suggestion;
      if (r.error.code === 'seat_unavailable' && tip) { say(r.error.message, 'warn'); return; }
      handleError(r);
      return;
    }
    markLocal(r.data.seats.map((x) => x.id), ['available'], 'held');
    setHold(r.data);
    const got = r.data.seats.filter((x) => !before.has(x.id)).map((x) => x.label);
    say(format(ngettext('Best available: %(labels)s is held for you.', 'Best available: %(labels)s are held for you.', got.length),
      { labels: labelList(got) }), 'success');
  }

  function renderCategories() {
    for (const c of state.showtime.categories || []) {
      if (![...state.ga.values()].some((z) => z.category === c.name)) {
        ui.bestCategory.append(h('option', { value: c.name },
          format(gettext('%(category)s (%(price)s)'), { category: c.name, price: money(c.price) })));
      }
    }
  }

  function setGa(zones) {
    for (const z of zones || []) {
      const known = state.ga.get(z.zone) || { qty: 1 };
      state.ga.set(z.zone, { ...known, ...z });
    }
    renderGa();
  }

  function renderGa() {
    ui.gaZones.hidden = state.ga.size === 0;
    ui.gaList.replaceChildren(...[...state.ga.values()].map((z) => {
      const li = h('li', { class: 'ga', 'data-ga-zone': z.zone });
      const minus = h('button', { type: 'button', class: 'btn btn--small', 'data-ga-step': '-1',
        'aria-label': format(gettext('One place fewer in %(zone)s'), { zone: z.zone }) }, '−');
      const plus = h('button', { type: 'button', class: 'btn btn--small', 'data-ga-step': '1',
        'aria-label': format(gettext('One place more in %(zone)s'), { zone: z.zone }) }, '+');
      const add = h('button', { type: 'button', class: 'btn btn--primary btn--small', 'data-ga-add': z.zone }, gettext('Add'));
      if (!z.available) add.disabled = true;
      li.append(h('span', { class: 'ga__name' }, `${z.zone} · ${money(z.price)}`),
        h('span', { class: 'ga__left', 'data-ga-available': z.zone },
          format(gettext('%(available)s of %(capacity)s left'), { available: z.available, capacity: z.capacity })),
        h('span', { class: 'ga__stepper' }, ''));
      li.lastChild.append(minus, h('output', { class: 'ga__qty', 'aria-live': 'polite' }, String(z.qty)), plus, add);
      return li;
    }));
  }

  async function onGaClick(ev) {
    const li = ev.target.closest('[data-ga-zone]');
    if (!li) return;
    const zone = state.ga.get(li.dataset.gaZone);
    const step = ev.target.closest('[data-ga-step]');
    if (step) {
      zone.qty = Math.max(1, Math.min(zone.available || 1, zone.qty + Number(step.dataset.gaStep)));
      renderGa();
      return;
    }
    if (!ev.target.closest('[data-ga-add]') || needSignIn()) return;
    const r = await api('POST', `/showtimes/${state.showtimeId}/holds/`,
      { ga: [{ zone: zone.zone, quantity: zone.qty }] });
    if (!r.ok) { say(r.error.message, 'error'); return; }
    setHold(r.data);
    say(format(ngettext('%(n)s place in %(zone)s held for you.', '%(n)s places in %(zone)s held for you.', zone.qty),
      { n: zone.qty, zone: zone.zone }), 'success');
  }

  async function refreshHold(id) {
    const r = await api('GET', `/holds/${id}/`);
    if (r.ok) setHold(r.data);
    else if (r.status === 404 && state.hold && state.hold.id === id) setHold(null);
  }

  // ---------------------------------------------------------------- checkout

  const field = (name) => ui.form.querySelector(`[name="${name}"]`);

  function updateCheckout() {
    const pendingOrder = state.order && state.order.status === 'pending';
    ui.fields.disabled = state.checkoutBusy || !(state.hold || pendingOrder);
    ui.submit.textContent = state.checkoutBusy ? gettext('Processing…')
      : (pendingOrder && !state.hold ? gettext('Pay') : gettext('Order and pay'));
  }

  function clearFieldErrors() {
    for (const p of ui.form.querySelectorAll('[data-error-for]')) p.textContent = '';
    for (const input of ui.form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
    ui.formErrors.replaceChildren();
    ui.formErrors.hidden = true;
  }

  /** validation_error details → field: messages; nested ({"customer": {"email": [...]}}) or dotted keys. */
  function showFieldErrors(details) {
    const flat = {};
    (function walk(obj, prefix) {
      for (const [k, v] of Object.entries(obj || {})) {
        const key = prefix ? `${prefix}.${k}` : k;
        if (Array.isArray(v)) flat[key] = v.map((m) => (typeof m === 'string' ? m : JSON.stringify(m)));
        else if (v && typeof v === 'object') walk(v, key);
        else flat[key] = [String(v)];
      }
    })(details, '');
    const general = [];
    for (const [key, msgs] of Object.entries(flat)) {
      const name = key.split('.').pop();
      const slot = ui.form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      if (slot) {
        slot.textContent = msgs.join(' ');
        const input = field(name);
        if (input) input.setAttribute('aria-invalid', 'true');
      } else {
        general.push(format(gettext('%(field)s: %(messages)s'), { field: key, messages: msgs.join(' ') }));
      }
    }
    if (general.length) {
      ui.formErrors.replaceChildren(...general.map((t) => h('p', {}, t)));
      ui.formErrors.hidden = false;
    }
  }

  async function onCheckout(ev) {
    ev.preventDefault();
    if (state.checkoutBusy) return;
    clearFieldErrors();
    state.checkoutBusy = true;
    updateCheckout();
    try {
      let order = state.order && state.order.status === 'pending' ? state.order : null;
      if (!order) {
        if (!state.hold) { say(gettext('Choose your seats first.'), 'info'); return; }
        state.checkoutKey = state.checkoutKey || uuid();   // one key per attempt, reused on retry
        const body = {
          hold: state.hold.id,
          customer: { name: field('name').value.trim(), email: field('email').value.trim(), phone: field('phone').value.trim() },
          payment_method: field('payment_method').value,
        };
        const r = await api('POST', '/orders/', body, { 'Idempotency-Key': state.checkoutKey });
        if (!r.ok) {
          // 4xx answers are not stored by the server, so the next attempt may use a new key.
          if (r.status >= 400 && r.status < 500 && r.error.code !== 'idempotency_in_progress') state.checkoutKey = null;
          if (r.error.code === 'validation_error') {
            showFieldErrors(r.error.details);
            say(r.error.message || gettext('Please check your details.'), 'error');
          } else {
            handleError(r);
          }
          return;
        }
        order = state.order = r.data;
        const ids = (order.tickets || []).map((t) => t.seat && t.seat.id).filter(Boolean);
        const held = [...state.holdSeats];
        setHold(null);   // the hold is converted
        markLocal(ids.length ? ids : held, ['held', 'available'], 'reserved');
        say(format(gettext('Order %(number)s created; paying…'), { number: order.number }), 'info');
      }
      if (order.status !== 'paid') {
        const p = await api('POST', `/orders/${order.id}/pay/`, {});
        if (!p.ok) {
          say(format(gettext('Order %(number)s is reserved, but the payment failed: %(message)s You can try again.'),
            { number: order.number, message: p.error.message }), 'error');
          return;
        }
        order = state.order = { ...order, ...p.data };
      }
      if (order.status === 'paid') await showPaid(order);
      else say(format(gettext('Order %(number)s is awaiting payment confirmation.'), { number: order.number }), 'info');
    } finally {
      state.checkoutBusy = false;
      updateCheckout();
    }
  }

  async function showPaid(order) {
    if (state.ticketsShownFor === order.id) return;
    state.ticketsShownFor = order.id;
    state.checkoutKey = null;
    const ids = (order.tickets || []).map((t) => t.seat && t.seat.id).filter(Boolean);
    markLocal(ids, ['available', 'held', 'reserved'], 'sold');
    say(format(gettext('Paid — order %(number)s. Your tickets are below.'), { number: order.number }), 'success');
    const r = await api('GET', `/orders/${order.id}/tickets/`);
    const tickets = r.ok ? (Array.isArray(r.data) ? r.data : (r.data && r.data.results) || []) : [];
    const list = h('ul', { class: 'tickets__list' });
    for (const t of tickets) {
      const li = h('li', { class: 'ticket', 'data-code': t.code });
      li.append(h('span', { class: 'ticket__seat' }, format(gettext('Seat %(label)s'), { label: t.seat ? t.seat.label : '?' })), ' ',
        h('code', { class: 'ticket__code' }, t.code));
      if (t.qr_svg_url) li.append(' ', h('a', { href: t.qr_svg_url, target: '_blank', rel: 'noopener' }, gettext('QR code')));
      list.append(li);
    }
    ui.tickets.replaceChildren(h('p', { class: 'tickets__title' }, format(gettext('Paid — order %(number)s'), { number: order.number })), list);
    if (!r.ok) {
      ui.tickets.append(h('p', { class: 'muted' },
        format(gettext('Tickets could not be loaded: %(message)s'), { message: r.error.message })));
    }
    ui.tickets.hidden = false;
  }

  // ---------------------------------------------------------------- realtime

  function send(frame) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
  }

  /** Ask for a snapshot, once: not again until it arrives (or RESYNC_WAIT_MS pass). */
  function requestResync() {
    if (state.resyncSentAt && Date.now() - state.resyncSentAt < RESYNC_WAIT_MS) return;
    state.resyncSentAt = Date.now();
    send({ type: 'resync' });
  }

  function onFrame(msg) {
    const otherShowtime = msg.showtime != null && String(msg.showtime) !== String(state.showtimeId);
    switch (msg.type) {
      case 'snapshot':
        if (otherShowtime) return;
        noteServerTime(msg.as_of);
        if (msg.live && !applyLive(msg.live)) {
          // Another plan layout than the one drawn (the plan was edited): load it, then ask for
          // a snapshot that matches it.
          ensureLayout(msg.layout).then((ok) => { if (ok) { state.resyncSentAt = 0; requestResync(); } });
          break;
        }
        for (const x of msg.seats || []) applySeat(x, true);
        if (msg.ga) setGa(msg.ga);
        state.lastSeq = typeof msg.seq === 'number' ? msg.seq : null;
        state.epoch = msg.epoch;
        state.resyncSentAt = 0;
        break;
      case 'availability.changed':
        if (otherShowtime) return;
        setGa([{ zone: msg.zone, capacity: msg.capacity, available: msg.available }]);
        break;
      case 'seats.changed':
        if (otherShowtime) return;
        if (msg.epoch !== state.epoch) {
          // The numbering restarted (a Redis restart or failover): our map may have missed
          // changes that no seq can show. The snapshot tells the truth (docs/realtime.md).
          requestResync();
          break;
        }
        if (typeof msg.seq === 'number' && state.lastSeq != null && msg.seq <= state.lastSeq) break;
        for (const x of msg.seats || []) applySeat(x, false);
        if (typeof msg.seq === 'number') {
          // The server sends frames in seq order and repairs its own gaps with a snapshot, so a
          // gap here means a frame was lost on the way: ask for the truth.
          if (state.lastSeq != null && msg.seq > state.lastSeq + 1) requestResync();
          state.lastSeq = state.lastSeq == null ? msg.seq : Math.max(state.lastSeq, msg.seq);
        }
        break;
      case 'hold.updated':
        if (!msg.hold) return;
        if (msg.hold.status === 'active' || (state.hold && state.hold.id === msg.hold.id)) setHold(msg.hold);
        break;
      case 'hold.expiring':
        onExpiring(msg);
        break;
      case 'hold.expired':
        if (state.hold && state.hold.id === String(msg.hold)) expireHold(gettext('Your hold expired; the seats were released.'));
        break;
      case 'order.updated':
        onOrderFrame(msg.order);
        break;
      case 'pong':
        if (msg.server_time) noteServerTime(msg.server_time);
        break;
      case 'error':
        console.warn('seatmap: server rejected a frame:', msg.code, msg.message);
        break;
      default:
        break;
    }
  }

  function onOrderFrame(o) {
    if (!o) return;
    const mine = state.order && String(state.order.id) === String(o.id);
    if (!mine) {
      if (o.status !== 'pending') say(format(orderStatusText(o.status), { number: o.number }), 'info');
      return;
    }
    state.order = { ...state.order, ...o };
    if (o.status === 'paid') {
      showPaid(state.order);
    } else if (o.status !== 'pending') {
      say(format(orderStatusText(o.status), { number: o.number }), 'warn');
      updateCheckout();
    }
  }

  /** "Order %(number)s was cancelled." and the like, for an order's new `status` (api.md). */
  function orderStatusText(status) {
    return {
      paid: gettext('Order %(number)s is paid.'),
      cancelled: gettext('Order %(number)s was cancelled.'),
      expired: gettext('Order %(number)s expired; its seats were released.'),
      refunded: gettext('Order %(number)s was refunded.'),
    }[status] || format(gettext('Order %(number)s: %(status)s.'), { number: '%(number)s', status });  // number: kept for the caller
  }

  function connect() {
    clearTimeout(state.retryTimer);
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/showtimes/${state.showtimeId}/`;
    let ws;
    try { ws = new WebSocket(url); } catch (err) { scheduleReconnect(); return; }
    state.ws = ws;
    ws.onopen = () => {
      state.retries = 0;
      setConnection('live');
      clearInterval(state.pingTimer);
      state.pingTimer = setInterval(() => send({ type: 'ping' }), PING_MS);
      if (state.hold) refreshHold(state.hold.id);   // it may have expired or converted while we were away
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (err) { console.warn('seatmap: bad frame', ev.data); return; }
      if (msg && typeof msg === 'object') onFrame(msg);
    };
    ws.onclose = (ev) => {
      if (state.ws !== ws) return;
      clearInterval(state.pingTimer);
      state.ws = null;
      state.resyncSentAt = 0;
      if (ev.code === 4404) { setConnection('offline'); say(gettext('This showtime no longer exists.'), 'error'); return; }
      if (ev.code === 4429 || ev.code === 4009) {
        console.warn('seatmap: the server closed the socket with', ev.code, ev.code === 4429
          ? '(too many frames)' : '(a frame over 4 KiB)');
        scheduleReconnect(POLICY_RETRY_MS);
        return;
      }
      scheduleReconnect();
    };
    ws.onerror = () => {};   // a close event follows; reconnecting happens there
  }

  /** Exponential backoff: 0.5 s doubling to 15 s (or at least `minMs`), plus up to 30 % random jitter. */
  function scheduleReconnect(minMs = 0) {
    clearTimeout(state.retryTimer);
    const base = Math.max(minMs, Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.retries));
    state.retries += 1;
    setConnection(navigator.onLine === false ? 'offline' : 'reconnecting');
    state.retryTimer = setTimeout(connect, base + Math.random() * base * 0.3);
  }

  window.addEventListener('online', () => { if (!state.ws) { state.retries = 0; connect(); } });
  window.addEventListener('offline', () => setConnection('offline'));

  // ---------------------------------------------------------------- start

  async function init() {
    setConnection('connecting');
    const id = state.showtimeId;
    const failed = (message) => {
      setConnection('offline');
      ui.map.replaceChildren();
      say(format(gettext('The seat map could not be loaded: %(message)s %(link)s'), { message, link: LINK }),
        'error', { href: location.href, text: gettext('Try again') });
    };
    const st = await api('GET', `/showtimes/${id}/`);
    if (!st.ok) { failed(st.error.message); return; }
    state.showtime = st.data;
    state.currency = st.data.currency || state.currency;
    // The layout (cached by the browser: its URL names its version) and the live states.
    const [drawn, live] = await Promise.all([ensureLayout(st.data.layout), api('GET', `/showtimes/${id}/live/`)]);
    if (!live.ok) { failed(live.error.message); return; }
    if (!drawn) { failed(gettext('Network problem: please check your connection and try again.')); return; }
    setGa(live.data.ga);
    noteServerTime(live.data.as_of);
    applyLive(live.data.live);
    state.canvas.draw();
    renderPrices();
    renderCategories();
    connect();
    if (state.authenticated && root.dataset.hold) await refreshHold(root.dataset.hold);
    root.dataset.ready = 'true';
  }

  ui.zoomIn.addEventListener('click', () => state.canvas && state.canvas.zoomBy(1.6));
  ui.zoomOut.addEventListener('click', () => state.canvas && state.canvas.zoomBy(1 / 1.6));
  ui.zoomReset.addEventListener('click', () => state.canvas && state.canvas.overview());
  ui.listToggle.addEventListener('click', toggleList);
  ui.form.addEventListener('submit', onCheckout);
  ui.bestForm.addEventListener('submit', onBest);
  ui.gaList.addEventListener('click', onGaClick);
  ui.extend.addEventListener('click', onExtend);
  ui.mySeats.addEventListener('click', (ev) => {
    const btn = ev.target.closest('[data-release]');
    if (!btn) return;
    const id = btn.getAttribute('data-release');
    if (state.seats.has(id)) onSeat(id);
    else releaseSeats([id]);  // a general-admission place: not on the map
  });
  setInterval(tick, 500);
  updateCheckout();
  /** For debugging and the browser tests: seat states and where a seat is on screen. */
  window.seatmap = {
    state,
    get ws() { return state.ws; },
    get canvas() { return state.canvas; },
    /** How seat `id` (a guid) shows now: available | mine | held | reserved | sold | blocked. */
    status: (id) => (state.seats.has(id) ? shownOf(state.seats.get(id)) : null),
    /** The seat's text as read out (its label, category, price and status). */
    text: (id) => (state.seats.has(id) ? seatText(state.seats.get(id).seat, shownOf(state.seats.get(id))) : null),
    /** Zooms and pans so the seat can be tapped ('touch') or clicked ('mouse'); its viewport point. */
    reveal: (id, pointer = 'touch') => state.canvas.reveal(state.seats.get(id).i, pointer === 'mouse' ? 10 : 24),
  };
  init();
})();
