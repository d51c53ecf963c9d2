"""The orders admin in Thai (issue #17): for a staff member who asks for Thai, the box-office
actions' confirmation pages and messages, the order list and the order page speak Thai (the
English versions: ``test_admin.py``)."""

from django.test import Client

from conftest import messages_of, seat_guids
from orders.models import Order
from orders.tests.test_admin import ORDERS, choose, confirm, place_order
from seats.tests.test_admin_th import assert_thai


def thai_client(staff) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="th")
    client.force_login(staff)
    return client


def test_refund_confirmation_and_messages_in_thai(staff, showtime, buyer, other_buyer):
    paid = place_order(buyer, showtime, seat_guids(showtime, 2), pay=True)
    pending = place_order(other_buyer, showtime, seat_guids(showtime)[5:6], name="Bob")
    client = thai_client(staff)

    page = choose(client, "refund_orders", [paid, pending])
    assert page.status_code == 200
    assert_thai(
        page.content.decode(),
        [
            "คืนเงินคำสั่งซื้อ: เลือกไว้ 2 คำสั่งซื้อ คืนเงินได้เฉพาะคำสั่งซื้อที่ชำระเงินแล้ว",
            "ในจำนวนนี้ ขณะนี้ชำระเงินแล้ว 1 คำสั่งซื้อ",
            f"{paid.number} — ชำระเงินแล้ว — Alice",
            f"{pending.number} — รอชำระเงิน — Bob",
            'value="ยืนยัน คืนเงิน 2 คำสั่งซื้อ"',
        ],
        ["Refund orders:", "of them is paid now", "— paid —", "Yes, refund"],
    )

    response = confirm(client, "refund_orders", [paid, pending])
    assert messages_of(response) == [
        f"คืนเงินแล้ว 1 คำสั่งซื้อ: {paid.number}",
        f"ข้าม 1 คำสั่งซื้อ (คืนเงินได้เฉพาะคำสั่งซื้อที่ชำระเงินแล้ว): {pending.number} (รอชำระเงิน)",
    ]
    assert Order.objects.get(pk=paid.pk).status == "refunded"


def test_cancel_messages_in_thai(staff, showtime, buyer, other_buyer):
    pending = place_order(buyer, showtime, seat_guids(showtime, 2))
    paid = place_order(other_buyer, showtime, seat_guids(showtime)[5:6], pay=True, name="Bob")
    response = confirm(thai_client(staff), "cancel_orders", [pending, paid])
    assert messages_of(response) == [
        f"ยกเลิกแล้ว 1 คำสั่งซื้อ: {pending.number}",
        f"ข้าม 1 คำสั่งซื้อ (ยกเลิกได้เฉพาะคำสั่งซื้อที่รอชำระเงิน): {paid.number} (ชำระเงินแล้ว)",
    ]


def test_order_list_and_page_in_thai(staff, showtime, buyer):
    order = place_order(buyer, showtime, seat_guids(showtime, 2), pay=True)
    client = thai_client(staff)
    listing = client.get(ORDERS).content.decode()
    assert_thai(
        listing,
        [
            "คืนเงินคำสั่งซื้อที่เลือก",  # an action
            "บันทึกว่าชำระเงินแล้ว (เงินสดที่จุดจำหน่ายบัตร)",
            "ชื่อลูกค้า",  # a column (the model field's name)
            "ยอดรวม",
            "ชำระเงินแล้ว",  # the status, and the filter's choice
        ],
        ["Refund selected orders", "Customer name", ">paid<"],
    )
    page = client.get(f"{ORDERS}{order.pk}/change/").content.decode()
    assert_thai(
        page,
        ["ลูกค้า", "วันและเวลา", "กำหนดเวลาชำระเงินของคำสั่งซื้อที่รอชำระเงิน", "บัตรเครดิต/เดบิต"],
        ["Payment deadline of a pending order.", ">Dates<", ">Card<"],
    )


def test_every_admin_page_renders_in_thai(staff, showtime, buyer, other_buyer):
    """A smoke test over every changelist and one change page per model of the project's admin,
    in Thai: a translation whose placeholders do not fit its code fails here."""
    from django.contrib import admin

    from seats.services import hold_create

    paid = place_order(buyer, showtime, seat_guids(showtime, 2), pay=True)
    hold_create(user=other_buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime)[5:6])
    client = thai_client(staff)
    assert "ระบบจำหน่ายบัตร Seatline" in client.get("/admin/").content.decode()
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label not in {"seats", "orders"}:
            continue
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        urls = [base]
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(f"{base}{first.pk}/change/")
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            assert response["Content-Language"] == "th", url
    assert client.get(f"{ORDERS}{paid.pk}/change/").status_code == 200
