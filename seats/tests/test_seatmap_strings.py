"""No text for people hard-coded in the seat map scripts (issue #17; docs/i18n.md): every such text
in ``static/js/seatmap.js`` and ``static/js/seatcanvas.js`` goes through ``gettext``/``ngettext``/``pgettext`` (Django's
JavaScriptCatalog), and the template loads that catalog before the script.

A pure check of the source: it lists the script's string literals (quotes and the text parts of
template literals; comments skipped), leaves out the arguments of the gettext family, and fails on
any literal left that reads like prose (two words, a capitalised word, a sentence end). Identifiers,
CSS classes, JSON keys, header names and console output for developers are not prose or are on
the allow-list below."""

import re
from pathlib import Path

import pytest
from django.conf import settings

SCRIPT = Path(settings.BASE_DIR) / "static" / "js" / "seatmap.js"
# The drawing of the map (issue #18): its texts come from seatmap.js, which passes them in.
CANVAS_SCRIPT = Path(settings.BASE_DIR) / "static" / "js" / "seatcanvas.js"
QUEUE_SCRIPT = SCRIPT.with_name("queue.js")  # the waiting room page
TEMPLATE = Path(settings.BASE_DIR) / "templates" / "seats" / "showtime_detail.html"

# Literals that look like words but are not shown to people.
ALLOWED = {
    "Accept",  # HTTP header names
    "Accept-Language",
    "Content-Type",
    "X-CSRFToken",
    "Idempotency-Key",
    "Retry-After",
    "GET",
    "POST",
    "Enter",  # KeyboardEvent.key
    "application/json",
    "use strict",
    "xMidYMid meet",  # SVG preserveAspectRatio
    "Segoe UI",  # font family names
    "ArrowLeft",  # KeyboardEvent.key
    "ArrowRight",
    "ArrowUp",
    "ArrowDown",
    "seatline.queuePass.",  # the sessionStorage key of the waiting room's pass
}
# Class lists ("btn btn--small", "my-seats__empty muted") and CSS declarations ("--cat: ").
CSS = re.compile(r"(?=.*[a-z][-_])[a-z][a-z0-9_-]*(?: [a-z][a-z0-9_-]*)*|--[a-z-]+: ?")
# CSS font values given to a canvas ("600 13px system-ui, …, sans-serif").
FONT = re.compile(r".*\bsans-serif")
# Developer output (the browser console), not the page.
DEVELOPER_LINE = re.compile(r"\bconsole\.(?:warn|error|log|info|debug)\(")

GETTEXT_CALL = re.compile(
    r"\b(?:n|p|np)?gettext\(\s*"
    r"((?:(?:'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")\s*,?\s*){1,3})"
)
PROSE = re.compile(
    r"[A-Za-z]{2,}[ \u00a0]+[A-Za-z]{2,}"  # two words
    r"|^[A-Z][a-z]{2,}"  # a capitalised word ("Live", "Remove")
    r"|[A-Za-z]{2,}[.!?…:]$"  # a sentence or label end
)


def string_literals(source: str) -> list[tuple[int, str]]:
    """``(offset, text)`` of every string literal of a JavaScript source: '…', "…", and the text
    between the ``${…}`` of template literals. Comments are skipped; regular expression literals
    are assumed to hold no quotes (true of seatmap.js)."""
    found: list[tuple[int, str]] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
        elif source.startswith("/*", i):
            i = source.index("*/", i) + 2
        elif c in "'\"":
            j = i + 1
            while source[j] != c:
                j += 2 if source[j] == "\\" else 1
            found.append((i, source[i + 1 : j]))
            i = j + 1
        elif c == "`":
            j = i + 1
            start = j
            while source[j] != "`":
                if source[j] == "\\":
                    j += 2
                elif source.startswith("${", j):
                    found.append((start, source[start:j]))
                    depth, j = 1, j + 2
                    while depth:  # the expression: nested braces; no backticks in it here
                        depth += {"{": 1, "}": -1}.get(source[j], 0)
                        j += 1
                    start = j
                else:
                    j += 1
            found.append((start, source[start:j]))
            i = j + 1
        else:
            i += 1
    return found


def hard_coded_texts(source: str) -> list[str]:
    """The literals of ``source`` that read like text for people and are outside gettext."""
    translated = [
        (m.start(1), m.end(1)) for m in GETTEXT_CALL.finditer(source)
    ]  # spans of gettext arguments
    problems = []
    for offset, text in string_literals(source):
        if any(a <= offset < b for a, b in translated):
            continue
        line_no = source.count("\n", 0, offset)
        statement = source[max(source.rfind(c, 0, offset) for c in ";{}") + 1 : offset]
        if DEVELOPER_LINE.search(statement):
            continue
        stripped = text.strip()
        if (
            stripped in ALLOWED
            or CSS.fullmatch(text)
            or FONT.fullmatch(stripped)
            or not PROSE.search(stripped)
        ):
            continue
        problems.append(f"line {line_no + 1}: {text!r}")
    return problems


def test_the_scanner_finds_hard_coded_texts_and_passes_translated_ones():
    sample = """
      // a comment with Some words
      say('Your hold expired.', 'warn');
      el.setAttribute('aria-label', `Seat ${label} is sold`);
      ui.extend.textContent = "Extend";
      say(gettext('Your hold expired.'), 'warn');
      say(format(ngettext('Seat %(labels)s is held.', 'Seats %(labels)s are held.', n), {labels}));
      pgettext('seat status', 'not for sale');
      h('span', { class: 'my-seats__label muted', 'data-hold-seat': x.id }, `${x.label}`);
      opts.headers['Content-Type'] = 'application/json';
      console.warn('seatmap: the server closed the socket with', code, code === 4429
        ? '(too many frames)' : '(a frame over 4 KiB)');
    """
    assert [p.split(": ", 1)[1] for p in hard_coded_texts(sample)] == [
        "'Your hold expired.'",
        "'Seat '",
        "' is sold'",
        "'Extend'",
    ]


@pytest.mark.parametrize("script", [SCRIPT, CANVAS_SCRIPT, QUEUE_SCRIPT], ids=lambda p: p.name)
def test_seat_map_scripts_have_no_hard_coded_text_for_people(script):
    problems = hard_coded_texts(script.read_text(encoding="utf-8"))
    assert problems == [], "texts to wrap in gettext()/ngettext():\n" + "\n".join(problems)


def test_the_page_loads_the_javascript_catalog_before_the_script():
    html = TEMPLATE.read_text(encoding="utf-8")
    catalog = html.index("{% url 'javascript-catalog' %}")
    assert catalog < html.index("js/seatmap.js")
    assert html.index("js/seatcanvas.js") < html.index("js/seatmap.js")
