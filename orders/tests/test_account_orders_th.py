"""My orders and tickets (``/account/orders/``) in Thai (issue #17): headings, statuses, buttons,
the flash message after a cancel, Thai month names and THB prices as ``฿`` (Babel); in English
when the request names no language."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlparse

import pytest

from conftest import seat_guids
from orders.tests.test_account_orders import PAGE, cancel_url, order_html, place_order, signed_in
from realtime.tests.test_browser import (  # noqa: F401  (chromium is a fixture)
    ARTIFACTS,
    PASSWORD,
    chromium,
    form_login_ready,
    open_browser,
)
from seats.tests.test_pages_th import THAI_MONTHS


@pytest.fixture
def thb_showtime(make_showtime):
    return make_showtime(currency="THB", prices={"Front": Decimal("1250"), "Back": Decimal("800")})


@pytest.mark.django_db
def test_my_orders_in_thai_with_thai_months_and_baht(buyer, api, thb_showtime):
    front = seat_guids(thb_showtime, 1)  # row 1: Front
    paid = place_order(api, thb_showtime, front, pay=True)
    pending = place_order(api, thb_showtime, seat_guids(thb_showtime)[5:6])  # row 2: Back

    response = signed_in(buyer).get(PAGE, HTTP_ACCEPT_LANGUAGE="th")
    assert response.status_code == 200 and response.headers["Content-Language"] == "th"
    html = response.content.decode()
    assert '<html lang="th">' in html
    assert "<h1>คำสั่งซื้อและบัตรของฉัน</h1>" in html
    assert "คำสั่งซื้อของฉัน</a>" in html and "ออกจากระบบ" in html  # the nav
    month = THAI_MONTHS[thb_showtime.starts_at.month - 1]

    entry = order_html(response, paid["id"])
    assert "ชำระเงินแล้ว" in entry  # Paid
    assert month in entry
    assert entry.count("฿1,250.00") == 2  # total and the seat's price
    assert "หมายเลขคำสั่งซื้อ" in entry and "ยอดรวม" in entry and "บัตรสำหรับพิมพ์" in entry
    assert "ใช้ได้" in entry  # the ticket is valid
    assert "THB" not in entry and "Paid" not in entry and "Printable ticket" not in entry

    entry = order_html(response, pending["id"])
    assert "รอชำระเงิน" in entry and "ชำระเงินภายใน" in entry and "฿800.00" in entry
    assert "ยกเลิกคำสั่งซื้อ</button>" in entry

    # Cancel: the flash message is Thai too.
    client = signed_in(buyer)
    response = client.post(cancel_url(pending["id"]), follow=True, HTTP_ACCEPT_LANGUAGE="th")
    html = response.content.decode()
    assert f"ยกเลิกคำสั่งซื้อ {pending['number']} แล้ว ที่นั่งกลับมาว่างอีกครั้ง" in html
    assert "ยกเลิกแล้ว" in order_html(response, pending["id"])


@pytest.mark.django_db
def test_my_orders_in_english_by_default(buyer, api, thb_showtime):
    paid = place_order(api, thb_showtime, seat_guids(thb_showtime, 1), pay=True)
    response = signed_in(buyer).get(PAGE)
    assert response.headers["Content-Language"] == "en"
    entry = order_html(response, paid["id"])
    assert "Paid" in entry and "Printable ticket" in entry
    assert "THB1,250.00" in entry  # Babel's English for baht
    assert thb_showtime.starts_at.strftime("%B")[:3] in entry  # "Nov." (Django's N)
    assert not any(m in entry for m in THAI_MONTHS)


@pytest.mark.django_db
def test_empty_state_and_pager_in_thai(buyer, api, make_showtime, monkeypatch):
    from orders import views

    client = signed_in(buyer)
    html = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="th").content.decode()
    assert 'คุณยังไม่มีคำสั่งซื้อ <a href="/">เลือกรอบการแสดง</a>เพื่อจองที่นั่งได้เลย' in html

    monkeypatch.setattr(views, "ORDERS_PER_PAGE", 1)
    showtime = make_showtime(rows=1, seats_per_row=2)
    for guid in seat_guids(showtime):
        place_order(api, showtime, [guid], pay=True)
    html = client.get(f"{PAGE}?page=2", HTTP_ACCEPT_LANGUAGE="th").content.decode()
    assert "หน้า 2 จาก 2" in html and "คำสั่งซื้อที่ใหม่กว่า" in html


# ------------------------------------------------------------------------------- in a real browser

PHONE_390 = {"width": 390, "height": 844}

NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"

HEADER_BOXES = """() => {
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const items = [...document.querySelectorAll(
    '.site-header .brand, .site-header .lang-switch__option, .site-header .account > *')];
  return items.map(box);
}"""


def overlapping(boxes: list[list[float]]) -> list[tuple[int, int]]:
    """Pairs of header items whose boxes overlap (a wrapped header keeps them apart)."""
    pairs = []
    for i, a in enumerate(boxes):
        for j, b in enumerate(boxes[i + 1 :], i + 1):
            if a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1:
                pairs.append((i, j))
    return pairs


@pytest.mark.django_db(transaction=True)
def test_switch_to_thai_sign_in_and_see_my_orders_at_390_px_in_the_browser(
    asgi_server,
    chromium,  # noqa: F811 (the imported fixture)
    buyer,
    api,
    thb_showtime,
):
    """The showtime list in English; the switcher's ภาษาไทย turns the list and the nav Thai; the
    Thai sign-in page (a wrong password first: a Thai error); My orders in Thai with Thai month
    names and ฿ prices. A 390 px wide phone: the header wraps without overlap or sideways
    scrolling. Screenshots: test-artifacts/showtimes-th-390.png, account-orders-th.png."""
    paid = place_order(api, thb_showtime, seat_guids(thb_showtime, 2), pay=True)
    form_login_ready(buyer)  # database work before the browser's event loop
    base_url = asgi_server()
    month = THAI_MONTHS[thb_showtime.starts_at.month - 1]
    ARTIFACTS.mkdir(exist_ok=True)

    with open_browser(chromium) as browser:
        page = browser.new_context(viewport=PHONE_390).new_page()
        page.goto(f"{base_url}/")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.inner_text("h1") == "Showtimes"
        switch = page.get_by_role("button", name="ภาษาไทย")
        assert switch.get_attribute("lang") == "th"
        assert switch.get_attribute("aria-pressed") == "false"

        with page.expect_navigation():
            switch.click()
        assert urlparse(page.url).path == "/"
        assert page.locator("html").get_attribute("lang") == "th"
        assert page.inner_text("h1") == "รอบการแสดง"
        card = page.locator(f'[data-showtime="{thb_showtime.pk}"]')
        assert month in card.inner_text() and "เปิดขาย" in card.inner_text()
        nav = page.locator(".account")
        assert "เข้าสู่ระบบ" in nav.inner_text() and "สมัครสมาชิก" in nav.inner_text()
        assert page.get_by_role("button", name="ภาษาไทย").get_attribute("aria-pressed") == "true"
        assert page.evaluate(NO_OVERFLOW)
        assert overlapping(page.evaluate(HEADER_BOXES)) == []
        page.screenshot(path=str(ARTIFACTS / "showtimes-th-390.png"), full_page=True)

        # The Thai sign-in page: a wrong password, then the right one.
        with page.expect_navigation():
            nav.get_by_role("link", name="เข้าสู่ระบบ").click()
        assert page.inner_text("h1") == "เข้าสู่ระบบ"
        page.get_by_label("ชื่อผู้ใช้").fill(buyer.username)
        page.get_by_label("รหัสผ่าน").fill("not-the-password")
        with page.expect_navigation():
            page.get_by_role("button", name="เข้าสู่ระบบ").click()
        assert "กรุณากรอกชื่อผู้ใช้และรหัสผ่านให้ถูกต้อง" in page.inner_text(".form-errors")
        page.get_by_label("รหัสผ่าน").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="เข้าสู่ระบบ").click()
        assert urlparse(page.url).path == "/"
        assert f"เข้าสู่ระบบในชื่อ {buyer.username}" in page.inner_text(".account")

        # My orders, in Thai; the signed-in header (who, my orders, sign out) still fits.
        with page.expect_navigation():
            page.get_by_role("link", name="คำสั่งซื้อของฉัน").click()
        assert urlparse(page.url).path == PAGE
        assert page.inner_text("h1") == "คำสั่งซื้อและบัตรของฉัน"
        entry = page.locator(f"#order-{paid['id']}")
        text = entry.inner_text()
        assert "ชำระเงินแล้ว" in text and month in text and "฿2,500.00" in text, text
        assert "฿1,250.00" in text and "บัตรสำหรับพิมพ์" in text
        assert page.evaluate(NO_OVERFLOW)
        assert overlapping(page.evaluate(HEADER_BOXES)) == []
        page.screenshot(path=str(ARTIFACTS / "account-orders-th.png"), full_page=True)
