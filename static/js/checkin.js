/* The staff check-in page (/staff/checkin/): each code typed or scanned is posted to
   POST /api/v1/checkin/ and its result shown and logged. Text comes from Django's
   JavaScriptCatalog (/jsi18n/: gettext, interpolate); times in the page's language. */
(function () {
  'use strict';
  const form = document.getElementById('checkin-form');
  const input = document.getElementById('checkin-code');
  const out = document.getElementById('checkin-result');
  const log = document.getElementById('checkin-log');
  const csrf = document.querySelector('input[name=csrfmiddlewaretoken]').value;
  const lang = document.documentElement.lang || undefined;
  const TEXT = {
    ok: gettext('Admitted'),
    already_used: gettext('Already used'),
    void: gettext('Void (refunded)'),
    unknown: gettext('Unknown ticket'),
  };
  function time(value) {
    return new Date(value).toLocaleTimeString(lang);
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const code = input.value.trim();
    if (!code) return;
    input.value = '';
    let text, kind;
    try {
      const r = await fetch('/api/v1/checkin/', {method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf}, body: JSON.stringify({code})});
      const body = await r.json();
      if (!r.ok) { kind = 'error'; text = (body.error && body.error.message) || gettext('Error'); }
      else {
        kind = body.result;
        text = TEXT[body.result] || body.result;
        if (body.ticket) {
          text = interpolate(gettext('%(result)s — seat %(seat)s, order %(order)s'),
            {result: text, seat: body.ticket.seat.label, order: body.ticket.order}, true);
        }
        if (body.result === 'already_used' && body.checked_in_at) {
          text = interpolate(gettext('%(result)s, checked in at %(time)s'),
            {result: text, time: time(body.checked_in_at)}, true);
        }
      }
    } catch (e) { kind = 'error'; text = gettext('Network error: try again.'); }
    out.textContent = text;
    out.dataset.result = kind;
    const li = document.createElement('li');
    li.textContent = time(Date.now()) + ' ' + text;
    log.prepend(li);
    input.focus();
  });
})();
