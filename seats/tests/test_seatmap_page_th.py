"""The seat map page and its script catalog in Thai (issue #17; docs/i18n.md "Seat map"), without a
browser: the server-rendered parts (buttons, status badge, Thai month names) and the
``/jsi18n/`` catalog the page loads before ``seatmap.js`` (which draws the legend from it)."""

import json

import pytest
from django.test import Client

from conftest import THAI_MONTHS

pytestmark = pytest.mark.django_db


def test_the_page_is_rendered_in_thai_and_loads_the_script_catalog_first(make_showtime):
    showtime = make_showtime(currency="THB", status="closed")
    html = Client().get(f"/showtimes/{showtime.pk}/", HTTP_ACCEPT_LANGUAGE="th").content.decode()
    assert '<html lang="th">' in html
    for text in ("ที่นั่งของคุณ", "ปิดการขาย", "ขยายเวลา"):
        assert text in html, text
    # The legend is drawn by seatmap.js (issue #18): its texts come from the Thai script catalog.
    catalog = Client().get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="th").content.decode()
    for text in ("ว่าง: %(category)s", "ที่นั่งของคุณ", "จองไว้ชั่วคราว", "รอชำระเงิน", "ขายแล้ว"):
        assert json.dumps(text) in catalog, text  # the catalog is JSON: Thai as \\uXXXX
    assert "ปิดการขายแล้ว" in html  # the closed showtime's badge
    assert "จองไว้ให้คุณอีก" in html and 'id="countdown-time"' in html
    assert "Your seats" not in html and "Extend<" not in html
    month = THAI_MONTHS[showtime.starts_at.month - 1]
    assert month in html
    assert html.index('src="/jsi18n/"') < html.index("js/seatmap.js")


def test_the_page_stays_english_by_default(showtime):
    html = Client().get(f"/showtimes/{showtime.pk}/").content.decode()
    assert '<html lang="en">' in html
    assert "Your seats" in html and ">Extend</button>" in html


def test_the_script_catalog_has_the_seat_map_texts_in_thai():
    th = Client().get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="th").content.decode("unicode_escape")
    assert '"Your hold is about to expire."' in th
    assert "การจองที่นั่งชั่วคราวของคุณใกล้หมดเวลาแล้ว" in th
    assert "ขออภัย %(labels)s เพิ่งถูกผู้อื่นจองไป" in th
    en = Client().get("/jsi18n/").content.decode()
    assert "การจอง" not in en.encode().decode("unicode_escape")
