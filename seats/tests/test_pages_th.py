"""The showtime list and the layout of every page (nav, skip link, footer, language switcher) in
Thai and in English (issue #17): ``Accept-Language: th``, the switcher's cookie, Thai month and
day names from Django's formats."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from conftest import THAI_DAYS, THAI_MONTHS


@pytest.mark.django_db
def test_the_showtime_list_in_thai(make_showtime):
    showtime = make_showtime(currency="THB")
    response = Client().get("/", HTTP_ACCEPT_LANGUAGE="th")
    assert response.headers["Content-Language"] == "th"
    html = response.content.decode()
    assert '<html lang="th">' in html
    assert "<title>รอบการแสดง — Seatline</title>" in html and "<h1>รอบการแสดง</h1>" in html
    assert THAI_MONTHS[showtime.starts_at.month - 1] in html
    assert THAI_DAYS[showtime.starts_at.weekday()] in html
    assert '<span class="badge badge--on_sale">เปิดขาย</span>' in html
    # the layout: skip link, nav, footer; the switcher shows each language in its own language
    for text in ("ข้ามไปยังเนื้อหา", ">เข้าสู่ระบบ</a>", ">สมัครสมาชิก</a>", "เลือกที่นั่งที่ว่าง"):
        assert text in html, text
    assert 'aria-label="ภาษา"' in html and 'aria-label="บัญชี"' in html
    assert 'value="th" lang="th"' in html and ">ภาษาไทย</button>" in html
    assert 'aria-pressed="true">ภาษาไทย' in html and 'aria-pressed="false">English' in html
    for english in ("Showtimes", "Sign in", "Skip to content", "On sale"):
        assert english not in html, english


@pytest.mark.django_db
def test_the_showtime_list_in_english_by_default(make_showtime):
    showtime = make_showtime()
    html = Client().get("/").content.decode()
    assert '<html lang="en">' in html and "<h1>Showtimes</h1>" in html
    assert f"{showtime.starts_at:%A}" in html and ">On sale</span>" in html
    assert "Skip to content" in html and ">Sign in</a>" in html
    assert 'aria-pressed="true">English' in html
    assert 'lang="th" class="lang-switch__option" aria-pressed="false">ภาษาไทย</button>' in html
    assert not any(m in html for m in THAI_MONTHS)


@pytest.mark.django_db
def test_empty_list_and_the_signed_in_nav_in_thai(buyer):
    client = Client()
    client.force_login(buyer)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="th").content.decode()
    assert "ขณะนี้ยังไม่มีรอบการแสดง" in html
    assert "เข้าสู่ระบบในชื่อ <strong>alice</strong>" in html
    assert ">คำสั่งซื้อของฉัน</a>" in html and ">ออกจากระบบ</button>" in html


@pytest.mark.django_db
def test_the_switcher_turns_the_list_thai_and_back(make_showtime):
    make_showtime()
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "th", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "th"
    assert "<h1>รอบการแสดง</h1>" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert (
        "<h1>Showtimes</h1>" in client.get("/", HTTP_ACCEPT_LANGUAGE="th").content.decode()
    )  # the cookie wins
