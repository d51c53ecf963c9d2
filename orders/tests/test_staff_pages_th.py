"""The staff pages (check-in, sales overview) in Thai (issue #17): the pages' text, and their
scripts' text from Django's JavaScriptCatalog (``/jsi18n/``) in the request's language."""

from __future__ import annotations

import json

import pytest

from seats.tests.test_pages_th import THAI_MONTHS


def js(text: str) -> str:
    """``text`` as the catalog script writes it (JSON, non-ASCII escaped)."""
    return json.dumps(text)[1:-1]


@pytest.mark.django_db
def test_the_check_in_page_and_its_script_text_in_thai(staff_client):
    html = staff_client.get("/staff/checkin/", HTTP_ACCEPT_LANGUAGE="th").content.decode()
    assert "<h1>เช็กอิน</h1>" in html and ">รหัสบัตร</label>" in html
    assert "การสแกนล่าสุด" in html and "Check in" not in html
    assert '<script src="/jsi18n/"></script>' in html and "js/checkin.js" in html
    catalog = staff_client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="th").content.decode()
    for thai in ("เข้างานได้", "บัตรนี้ใช้ไปแล้ว", "ไม่พบบัตรนี้", "เช็กอินเมื่อ", "เครือข่ายขัดข้อง"):
        assert js(thai) in catalog, thai
    assert js("เข้างานได้") not in staff_client.get("/jsi18n/").content.decode()  # English


@pytest.mark.django_db
def test_the_sales_page_in_thai(staff_client, make_showtime):
    showtime = make_showtime(currency="THB")
    html = staff_client.get(
        f"/staff/showtimes/{showtime.pk}/sales/", HTTP_ACCEPT_LANGUAGE="th"
    ).content.decode()
    assert "<h1>ภาพรวมยอดขาย: Test Night</h1>" in html
    assert THAI_MONTHS[showtime.starts_at.month - 1] in html
    for thai in ("กำลังเชื่อมต่อ…", "รายได้", "ประเภทบัตร", "ว่าง", "ปิดการขาย"):
        assert thai in html, thai
    assert "Revenue" not in html and "js/sales.js" in html
    catalog = staff_client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="th").content.decode()
    assert js("กำลังเชื่อมต่อใหม่…") in catalog and js("เชื่อมต่อแล้ว") in catalog
