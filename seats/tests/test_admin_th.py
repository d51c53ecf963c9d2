"""The staff admin in Thai (issue #17): a staff member whose language is Thai (``Accept-Language:
th``, or the preference saved with :func:`ticketing.i18n.save_language`) gets the project's own
admin texts in Thai — columns, fieldsets, help texts, status labels, confirmation pages and the
messages of the actions — and not the English ones. Django's own admin texts come from Django's
Thai catalog. The English versions are asserted in ``test_admin.py`` (default language ``en``).
"""

from django.test import Client

from conftest import messages_of, seat_guids
from seats.models import Hold
from seats.services import hold_create
from seats.tests.test_admin import HOLDS, SEATS, SHOWTIMES, choose, confirm, seat_rows, statuses
from ticketing.i18n import save_language


def thai_client(staff) -> Client:
    """A client signed in as ``staff`` that asks for Thai (Accept-Language)."""
    client = Client(HTTP_ACCEPT_LANGUAGE="th")
    client.force_login(staff)
    return client


def assert_thai(html: str, thai: list[str], english: list[str]) -> None:
    missing = [text for text in thai if text not in html]
    assert not missing, f"Thai texts missing: {missing}"
    left = [text for text in english if text in html]
    assert not left, f"English texts left: {left}"


def test_showtime_changelist_in_thai(staff, showtime, buyer):
    hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 2))
    response = thai_client(staff).get(SHOWTIMES)
    assert response.status_code == 200
    assert response["Content-Language"] == "th"
    assert_thai(
        response.content.decode(),
        # site header, column headers, the status label, the filter's choices
        ["ระบบจำหน่ายบัตร Seatline", "สถานที่จัดงาน", "ขายแล้ว", "จองไว้", "ว่าง", "เปิดขาย"],
        ["Seatline box office", "On sale", ">venue<", ">held<", ">available<"],
    )


def test_showtime_change_form_in_thai(staff, showtime):
    html = thai_client(staff).get(f"{SHOWTIMES}{showtime.pk}/change/").content.decode()
    assert_thai(
        html,
        [
            # fieldsets
            "การขาย",
            "การจองที่นั่งชั่วคราว",
            # field labels and help texts of the model
            "ที่นั่งสูงสุดต่อคำสั่งซื้อ",
            "ห้ามเหลือที่นั่งเดี่ยว",
            "จำนวนครั้งที่ผู้ซื้อขยายเวลาจองได้ (0: ขยายไม่ได้)",
            # the read-only fields and links of the admin
            "ที่นั่งขณะนี้",
            "ว่าง: 10, จองไว้: 0, รอชำระเงิน: 0, ขายแล้ว: 0, ปิดการขาย: 0",
            "ที่นั่งของรอบนี้ (ปิดการขาย เปิดขายอีกครั้ง)",
            "ประวัติการเปลี่ยนแปลง (0)",
            "ภาพรวมยอดขายแบบเรียลไทม์",
        ],
        [
            "Max seats per order",
            "How many times a buyer may extend a hold",
            "Seats of this showtime",
            "Audit trail (",
            "Live sales overview",
            "available: 10",
        ],
    )


def test_a_showtime_form_error_in_thai(staff, showtime):
    """The model's own validation message (``Showtime.clean``) reaches the form in Thai."""
    client = thai_client(staff)
    url = f"{SHOWTIMES}{showtime.pk}/change/"
    page = client.get(url)
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data |= {
        "starts_at_0": f"{showtime.starts_at:%Y-%m-%d}",
        "starts_at_1": f"{showtime.starts_at:%H:%M:%S}",
        "max_seats_per_buyer": "2",  # below max seats per order: refused by the model
    }
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        data |= {f"{management.prefix}-{k}": v for k, v in management.initial.items()}
        for price in formset.formset.forms:
            data |= {
                f"{price.prefix}-id": price.instance.pk,
                f"{price.prefix}-category": price.instance.category_id,
                f"{price.prefix}-price": str(price.instance.price),
                f"{price.prefix}-showtime": showtime.pk,
            }
    response = client.post(url, data)
    assert response.status_code == 200
    assert_thai(
        response.content.decode(),
        ["ต้องไม่น้อยกว่าที่นั่งสูงสุดต่อคำสั่งซื้อ"],
        ["At least max seats per order"],
    )


def test_block_seats_confirmation_and_messages_in_thai(staff, showtime, buyer):
    hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 1))
    pks = [r.pk for r in seat_rows(showtime, "Hall A-1", "Hall A-2", "Hall A-3")]
    client = thai_client(staff)

    page = choose(client, SEATS, "block_seats", pks)
    assert page.status_code == 200
    assert_thai(
        page.content.decode(),
        [
            "ปิดการขายที่นั่งที่เลือก: 3 ที่นั่ง",
            "จะถูกข้ามและแสดงไว้ให้ทราบ",
            "Hall A-1 — จองไว้",
            "Hall A-2 — ว่าง",
            "เหตุผล",
            "เช่น “แท่นตั้งกล้อง”",
            'value="ปิดการขาย 3 ที่นั่ง"',
            "ไม่ กลับไปก่อนหน้า",
        ],
        ["Block the selected seats", "Hall A-1 — held", "camera platform", "Block 3 seats"],
    )

    response = confirm(client, SEATS, "block_seats", pks, reason="แท่นตั้งกล้อง")
    assert response.status_code == 302
    assert messages_of(response) == [
        "ปิดการขายแล้ว 2 ที่นั่ง",
        "ข้าม 1 ที่นั่งที่จองไว้ รอชำระเงิน ขายแล้ว หรือปิดการขายอยู่แล้ว: Hall A-1",
    ]
    assert statuses(showtime)["Hall A-2"] == "blocked"

    client.get(SEATS)  # shows (and so clears) the block's messages
    response = choose(client, SEATS, "unblock_seats", pks)
    assert messages_of(response) == [
        "เปิดขายอีกครั้งแล้ว 2 ที่นั่ง",
        "ข้าม 1 ที่นั่งที่ไม่ได้ปิดการขาย: Hall A-1",
    ]


def test_block_a_whole_row_confirmation_in_thai(staff, showtime, buyer):
    hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 1))
    page = choose(thai_client(staff), SEATS, "block_rows", [seat_rows(showtime, "Hall A-2")[0].pk])
    assert_thai(
        page.content.decode(),
        ["ปิดการขายทั้งแถวของที่นั่งที่เลือก: 5 ที่นั่ง", "Hall แถว A — 5 ที่นั่ง ขณะนี้ว่าง 4 ที่นั่ง"],
        ["Block the whole row", "5 seats, 4 available now"],
    )


def test_the_holds_admin_in_thai(staff, showtime, buyer, other_buyer, clock):
    lapsing = hold_create(
        user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 1)
    ).hold
    clock.advance(showtime.hold_ttl - 1)
    fresh = hold_create(
        user=other_buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime)[5:6]
    ).hold
    clock.advance(1)
    client = thai_client(staff)

    listing = client.get(HOLDS).content.decode()
    assert_thai(
        listing,
        [
            "การจองที่นั่งชั่วคราว",  # the model's name
            "ที่นั่งที่ยังจองอยู่",  # a column
            "กำลังจอง",  # a status (and the filter's choice)
            "หมดอายุ (หมดเวลาแล้ว ระบบยังไม่ได้บันทึก)",
            "ยกเลิกการจองที่นั่งชั่วคราวที่เลือก",  # the action
        ],
        ["(lapsed, not yet recorded)", "live seats", "Force-release selected holds"],
    )

    page = choose(client, HOLDS, "force_release", [fresh.pk, lapsing.pk])
    assert_thai(
        page.content.decode(),
        [
            "ยกเลิกการจองที่นั่งชั่วคราว 2 รายการแทนผู้ซื้อ",
            "กำลังจอง, ยังจองอยู่ 1 ที่นั่ง",
            'value="ยกเลิกการจอง 2 รายการ"',
        ],
        ["on the buyers' behalf", "live seat", "Release 2 holds"],
    )
    response = confirm(client, HOLDS, "force_release", [fresh.pk, lapsing.pk])
    assert messages_of(response) == [
        "ยกเลิกการจองที่นั่งชั่วคราวแล้ว 1 รายการ",
        f"การจอง 1 รายการหมดเวลาไปก่อนแล้ว จึงบันทึกเป็นหมดอายุ: {lapsing.pk}",
    ]
    assert Hold.objects.get(pk=fresh.pk).status == "released"


def test_the_saved_preference_makes_the_admin_thai(staff, showtime):
    """No Accept-Language: the staff member's saved language (``BuyerProfile``) decides."""
    save_language(staff, "th")
    client = Client()
    client.force_login(staff)
    html = client.get(SHOWTIMES).content.decode()
    assert_thai(html, ["ระบบจำหน่ายบัตร Seatline", "เปิดขาย"], ["Seatline box office", "On sale"])
