"""My orders and tickets (``/account/orders/``) in Thai (issue #17): headings, statuses, buttons,
the flash message after a cancel, Thai month names and THB prices as ``฿`` (Babel); in English
when the request names no language."""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import seat_guids
from orders.tests.test_account_orders import PAGE, cancel_url, order_html, place_order, signed_in

TH = {"HTTP_ACCEPT_LANGUAGE": "th"}
THAI_MONTHS = [
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
]  # fmt: skip


@pytest.fixture
def thb_showtime(make_showtime):
    return make_showtime(currency="THB", prices={"Front": Decimal("1250"), "Back": Decimal("800")})


@pytest.mark.django_db
def test_my_orders_in_thai_with_thai_months_and_baht(buyer, api, thb_showtime):
    front = seat_guids(thb_showtime, 1)  # row 1: Front
    paid = place_order(api, thb_showtime, front, pay=True)
    pending = place_order(api, thb_showtime, seat_guids(thb_showtime)[5:6])  # row 2: Back

    response = signed_in(buyer).get(PAGE, **TH)
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
    response = client.post(cancel_url(pending["id"]), follow=True, **TH)
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
    html = client.get(PAGE, **TH).content.decode()
    assert 'คุณยังไม่มีคำสั่งซื้อ <a href="/">เลือกรอบการแสดง</a>เพื่อจองที่นั่งได้เลย' in html

    monkeypatch.setattr(views, "ORDERS_PER_PAGE", 1)
    showtime = make_showtime(rows=1, seats_per_row=2)
    for guid in seat_guids(showtime):
        place_order(api, showtime, [guid], pay=True)
    html = client.get(f"{PAGE}?page=2", **TH).content.decode()
    assert "หน้า 2 จาก 2" in html and "คำสั่งซื้อที่ใหม่กว่า" in html
