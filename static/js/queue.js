/*
 * Seatline waiting room page: static/js/queue.js (plain ES2020, no build step; docs/waiting-room.md
 * "The queue page"). Served instead of the seat map to a signed-in buyer of a showtime whose queue
 * is on and who is not admitted yet (templates/seats/showtime_queue.html).
 *
 * What it does
 *   POST /api/v1/showtimes/ID/queue/   join (or get the place kept from before: a second tab or a
 *                                      reload keeps it); the answer gives `position`, `state`,
 *                                      `admitted_up_to`, `rate_per_minute`, `pass`
 *   WS   /ws/showtimes/ID/queue/       queue.progress {admitted_up_to, admitting_per_minute (the
 *                                      pace of the last minute: the wait's rate), active,
 *                                      target, paused, shuffled, at} (the figures on connect, then
 *                                      one per admitter step): the place (position − admitted_up_to),
 *                                      the wait and the bar are computed here, no request per frame
 *   GET  /api/v1/showtimes/ID/queue/   only when the frame says the buyer's turn came (to fetch
 *                                      the pass); once in the early pool when a frame says the draw
 *                                      was made (`shuffled`), after a random pause of up to
 *                                      DRAW_SPREAD_MS so the early buyers do not all ask at once;
 *                                      and every 30 s as a fallback when the socket is down
 *   Once admitted: the pass goes to sessionStorage (seatline.queuePass.ID) and the page reloads;
 *   the server then renders the seat map with the pass, which seatmap.js sends as X-Queue-Pass.
 *
 * DOM: #queue-app[data-showtime, data-state: joining | early | waiting | paused | admitted |
 *   finished | error], #queue-place, #queue-admitted, #queue-wait, #queue-progress, #queue-message.
 *   window.seatlineQueue = {state} for the browser tests.
 */
(() => {
  'use strict';

  const gettext = window.gettext || ((msgid) => msgid);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const interpolate = window.interpolate
    || ((fmt, obj) => fmt.replace(/%\(\w+\)s/g, (m) => String(obj[m.slice(2, -2)])));
  const format = (fmt, values) => interpolate(fmt, values, true);
  const LANG = document.documentElement.lang || 'en';

  const app = document.getElementById('queue-app');
  if (!app) return;
  const showtimeId = Number(app.dataset.showtime);
  const url = `/api/v1/showtimes/${showtimeId}/queue/`;
  const el = (id) => document.getElementById(id);
  const state = {
    position: null, admittedUpTo: 0, startedAt: 0, rate: 1, paused: false, kind: 'joining',
    fetching: false, ws: null, backoff: 500, drawAsked: false, shuffled: false,
  };
  const DRAW_SPREAD_MS = 3000;
  window.seatlineQueue = { state };

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    const input = document.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : '';
  }

  async function call(method) {
    const headers = { Accept: 'application/json', 'Accept-Language': LANG };
    if (method !== 'GET') headers['X-CSRFToken'] = csrfToken();
    try {
      const res = await fetch(url, { method, credentials: 'same-origin', headers });
      const data = await res.json().catch(() => null);
      return res.ok ? data : { error: (data && data.error) || {} };
    } catch (err) {
      return { error: { message: gettext('Network problem: please check your connection and try again.') } };
    }
  }

  function number(n) { return new Intl.NumberFormat(LANG).format(n); }

  function waitText(seconds) {
    if (seconds < 60) return gettext('less than a minute');
    const minutes = Math.ceil(seconds / 60);
    return format(ngettext('about %(n)s minute', 'about %(n)s minutes', minutes), { n: number(minutes) });
  }

  function render() {
    app.dataset.state = state.kind;
    const message = el('queue-message');
    el('queue-admitted').textContent = number(state.admittedUpTo);
    if (state.position === null) {
      el('queue-place').textContent = '—';
      el('queue-wait').textContent = '—';
      message.textContent = state.shuffled
        ? gettext('Getting your place in line…')
        : gettext('The on-sale has not started yet. Everyone who arrives before it gets a place drawn at random when it starts, so there is no need to hurry.');
      return;
    }
    const place = Math.max(0, state.position - state.admittedUpTo);
    el('queue-place').textContent = number(place);
    el('queue-wait').textContent = waitText(Math.ceil(place * 60 / Math.max(1, state.rate)));
    const span = Math.max(1, state.position - state.startedAt);
    el('queue-progress').value = Math.round(100 * (1 - place / span));
    message.textContent = state.paused
      ? gettext('The waiting room is paused for a moment. You keep your place.')
      : '';
  }

  function admitted(pass) {
    state.kind = 'admitted';
    app.dataset.state = 'admitted';
    el('queue-message').textContent = gettext('It is your turn: opening the seat map…');
    try { sessionStorage.setItem(`seatline.queuePass.${showtimeId}`, pass); } catch (err) { /* private mode */ }
    window.location.reload();
  }

  function apply(status) {
    if (status.error) {
      state.kind = 'error';
      app.dataset.state = 'error';
      el('queue-message').textContent = status.error.message || gettext('Something went wrong. Please reload the page.');
      return;
    }
    if (status.state === 'admitted' && status.pass) { admitted(status.pass); return; }
    if (status.state === 'finished') {
      state.kind = 'finished';
      app.dataset.state = 'finished';
      el('queue-message').textContent = gettext('Your turn in the waiting room has ended.');
      return;
    }
    if (state.position === null && status.position !== null) state.startedAt = status.admitted_up_to;
    state.position = status.position;
    state.admittedUpTo = Math.max(state.admittedUpTo, status.admitted_up_to);
    state.rate = status.admitting_per_minute;
    state.paused = status.paused;
    state.shuffled = status.shuffled;
    state.kind = status.position === null ? 'early' : (status.paused ? 'paused' : 'waiting');
    render();
  }

  async function refresh() {
    if (state.fetching) return;
    state.fetching = true;
    try { apply(await call('GET')); } finally { state.fetching = false; }
  }

  function onProgress(frame) {
    state.admittedUpTo = Math.max(state.admittedUpTo, frame.admitted_up_to);
    state.rate = frame.admitting_per_minute;
    state.paused = frame.paused;
    state.shuffled = frame.shuffled;
    if (state.position === null) {   // before the on-sale, or a place on its way
      render();
      // ask for the place once the draw was made (spread, so the early pool does not ask at once)
      if (frame.shuffled && !state.drawAsked) {
        state.drawAsked = true;
        setTimeout(async () => {
          await refresh();
          if (state.position === null) state.drawAsked = false;   // ask again on the next frame
        }, Math.random() * DRAW_SPREAD_MS);
      }
      return;
    }
    state.kind = state.paused ? 'paused' : 'waiting';
    render();
    if (state.position <= state.admittedUpTo) refresh();   // our turn: fetch the pass
  }

  function connect() {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/showtimes/${showtimeId}/queue/`);
    state.ws = ws;
    ws.onopen = () => { state.backoff = 500; };
    ws.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (err) { return; }
      if (frame.type === 'queue.progress' && frame.showtime === showtimeId) onProgress(frame);
    };
    ws.onclose = (event) => {
      if (state.kind === 'admitted' || event.code === 4404) return;
      setTimeout(connect, state.backoff + Math.random() * 300);
      state.backoff = Math.min(15000, state.backoff * 2);
    };
  }

  async function start() {
    apply(await call('POST'));
    if (state.kind === 'admitted' || state.kind === 'error') return;
    connect();
    setInterval(() => {   // a fallback when frames do not come (socket down)
      if (state.kind !== 'admitted' && (!state.ws || state.ws.readyState !== WebSocket.OPEN)) refresh();
    }, 30000);
  }

  start();
})();
