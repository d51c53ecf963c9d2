/* The staff sales overview (/staff/showtimes/{id}/sales/): GET .../sales/ again (debounced) on
   every seats.changed frame of the showtime (the seat map's socket), and with a waiting room on
   every queue.progress frame of its own socket (/ws/showtimes/{id}/queue/: after each admitter
   step that changed something, at least every 5 s while people wait); its figures are the JSON's
   "queue". Text from Django's JavaScriptCatalog (/jsi18n/);
   money, counts, percentages and times formatted by Intl in the page's language. Times: the
   showtime's start and the "updated" time through one Intl.DateTimeFormat, in UTC (as every time
   on the site, "UTC" written after it), on the Gregorian calendar (as Django's Thai dates). */
(function () {
  'use strict';
  const root = document.getElementById('sales');
  const id = root.dataset.showtime;
  const lang = document.documentElement.lang || undefined;
  const cols = ['available', 'held', 'reserved', 'sold', 'blocked'];
  const count = new Intl.NumberFormat(lang);
  const percent = new Intl.NumberFormat(lang, {style: 'percent'});
  const when = new Intl.DateTimeFormat(lang, {
    weekday: 'long', year: 'numeric', month: 'long', day: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    timeZone: 'UTC', calendar: 'gregory',
  });
  function showTime(el, iso) {
    el.dateTime = iso;
    el.textContent = when.format(new Date(iso)) + ' UTC';  // Thai's own zone name is long-winded
  }
  let pending = null;
  function money(amount, currency) {
    if (amount === '' || amount == null) return '';
    try {
      return new Intl.NumberFormat(lang, {style: 'currency', currency}).format(Number(amount));
    } catch (e) {  // an unknown currency code
      return amount + ' ' + currency;
    }
  }
  function clearText(seconds) {  // the texts of the queue page (djangojs-queue.po)
    if (seconds <= 0) return '—';
    if (seconds < 60) return gettext('less than a minute');
    const minutes = Math.ceil(seconds / 60);
    return interpolate(ngettext('about %(n)s minute', 'about %(n)s minutes', minutes), {n: count.format(minutes)}, true);
  }
  function showQueue(q) {
    if (!q || !document.getElementById('sales-queue')) return;
    const set = (id, text) => { document.getElementById(id).textContent = text; };
    set('queue-waiting', count.format(q.waiting));
    set('queue-early', count.format(q.early));
    set('queue-active', count.format(q.active) + ' / ' + count.format(q.target));
    set('queue-admitted', count.format(q.admitted_total));
    set('queue-rate', count.format(q.rate_per_minute));
    set('queue-clear', clearText(q.estimated_clear_seconds));
    set('queue-state', q.paused ? gettext('paused') : gettext('admitting'));
  }
  function cell(text) { const td = document.createElement('td'); td.textContent = text; return td; }
  function row(name, price, r, currency) {
    const tr = document.createElement('tr');
    tr.append(cell(name), cell(money(price, currency)));
    for (const c of cols) tr.append(cell(count.format(r[c])));
    tr.append(cell(money(r.revenue, currency)));
    return tr;
  }
  async function refresh() {
    pending = null;
    const r = await fetch('/api/v1/showtimes/' + id + '/sales/', {credentials: 'same-origin'});
    if (!r.ok) return;
    const s = await r.json();
    const body = root.querySelector('tbody'), foot = root.querySelector('tfoot');
    body.replaceChildren(...s.categories.map(c => row(c.name, c.price, c, s.currency)));
    foot.replaceChildren(row(gettext('Total'), '', s.totals, s.currency));
    document.getElementById('card-revenue').textContent = money(s.totals.revenue, s.currency);
    document.getElementById('card-sold').textContent = count.format(s.totals.sold);
    document.getElementById('card-holds').textContent = count.format(s.holds_active);
    document.getElementById('card-held').textContent = count.format(s.seats_held);
    const ratio = s.conversion.holds_converted_ratio;
    document.getElementById('card-conversion').textContent = ratio == null ? '—' : percent.format(ratio);
    showQueue(s.queue);
    showTime(document.getElementById('sales-asof'), s.as_of);
    root.dataset.version = String((Number(root.dataset.version) || 0) + 1);
  }
  function schedule() { if (!pending) pending = setTimeout(refresh, 250); }
  // Follow a socket: schedule a refresh on the frames of `types`; reconnect with backoff, except
  // after 4404 (the queue socket of a showtime whose waiting room was switched off).
  function follow(path, types, onOpen, onClose) {
    let delay = 500;
    function connect() {
      const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path);
      ws.onopen = () => { delay = 500; if (onOpen) onOpen(); };
      ws.onmessage = (e) => { if (types.includes(JSON.parse(e.data).type)) schedule(); };
      ws.onclose = (e) => {
        if (onClose) onClose();
        if (e.code === 4404) return;
        setTimeout(connect, delay + Math.random() * delay); delay = Math.min(delay * 2, 15000);
      };
    }
    connect();
  }
  const live = document.getElementById('sales-live');
  const starts = document.getElementById('sales-starts');
  showTime(starts, starts.dateTime);
  refresh();
  follow('/ws/showtimes/' + id + '/', ['seats.changed', 'snapshot'],
    () => { live.dataset.state = 'live'; live.textContent = gettext('live'); },
    () => { live.dataset.state = 'offline'; live.textContent = gettext('reconnecting…'); });
  if (document.getElementById('sales-queue')) {
    follow('/ws/showtimes/' + id + '/queue/', ['queue.progress']);
  }
})();
