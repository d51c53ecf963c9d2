/* The staff check-in page (/staff/checkin/): each code typed or scanned is posted to
   POST /api/v1/checkin/ and its result shown (a coloured banner, styles in static/css/app.css
   "staff: check-in") and logged. Text comes from Django's JavaScriptCatalog (/jsi18n/: gettext,
   interpolate); times in the page's language. Each result also beeps (WebAudio: a high short tone
   when admitted, two low tones when refused) and vibrates (short when admitted, a long pattern
   when refused) where the browser can; the "Sound and vibration" box turns both off, remembered
   in localStorage. */
(function () {
  'use strict';
  const form = document.getElementById('checkin-form');
  const input = document.getElementById('checkin-code');
  const out = document.getElementById('checkin-result');
  const log = document.getElementById('checkin-log');
  const soundBox = document.getElementById('checkin-sound');
  const csrf = document.querySelector('input[name=csrfmiddlewaretoken]').value;
  const lang = document.documentElement.lang || undefined;
  const TEXT = {
    ok: gettext('Admitted'),
    already_used: gettext('Already used'),
    void: gettext('Void (refunded)'),
    unknown: gettext('Unknown ticket'),
  };
  const SOUND_KEY = 'seatline.checkin.sound';
  const VIBRATE = {ok: [120], refused: [400, 120, 400, 120, 400]};
  // Beeps: [frequency in Hz, duration in s] played one after the other.
  const BEEP = {ok: [[1320, 0.12]], refused: [[330, 0.25], [220, 0.35]]};
  let audio = null;

  function time(value) {
    return new Date(value).toLocaleTimeString(lang);
  }

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }  // blocked storage
  }
  function soundOn() { return !soundBox || soundBox.checked; }
  if (soundBox) {
    const store = storage();
    soundBox.checked = !(store && store.getItem(SOUND_KEY) === 'off');
    soundBox.addEventListener('change', () => {
      const s = storage();
      if (s) { try { s.setItem(SOUND_KEY, soundBox.checked ? 'on' : 'off'); } catch (e) { /* full */ } }
      input.focus();
    });
  }

  function beep(tones) {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      audio = audio || new Context();
      if (audio.state === 'suspended' && audio.resume) audio.resume();
      let at = audio.currentTime + 0.01;
      for (const [frequency, duration] of tones) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = 'square';
        osc.frequency.value = frequency;
        gain.gain.setValueAtTime(0.15, at);
        gain.gain.exponentialRampToValueAtTime(0.001, at + duration);
        osc.connect(gain).connect(audio.destination);
        osc.start(at);
        osc.stop(at + duration);
        at += duration + 0.05;
      }
    } catch (e) { /* no sound: the banner says it all */ }
  }

  function signal(kind) {
    if (!soundOn()) return;
    const refused = kind !== 'ok';
    beep(refused ? BEEP.refused : BEEP.ok);
    if (typeof navigator.vibrate === 'function') {
      try { navigator.vibrate(refused ? VIBRATE.refused : VIBRATE.ok); } catch (e) { /* none */ }
    }
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
    li.className = 'checkin-log__item';
    li.dataset.result = kind;
    const when = document.createElement('span');
    when.className = 'checkin-log__time';
    when.textContent = time(Date.now());
    li.append(when, ' ', text);
    log.prepend(li);
    while (log.children.length > 50) log.lastElementChild.remove();
    signal(kind);
    input.focus();
  });
})();
