"""Sign-in, sign-up and the 404/500 pages in Thai (issue #17): the pages' own text, the forms'
labels and help texts, and their errors, including Django's that its Thai catalog leaves
untranslated (filled by ``ticketing/thirdparty_messages.py``); English when no language is asked for."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.utils import translation

from ticketing.errors import handler500


def page(response) -> str:
    assert response.headers["Content-Language"] == "th"
    return response.content.decode()


@pytest.mark.django_db
def test_the_sign_in_page_and_its_error_in_thai(buyer):
    html = page(Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="th"))
    assert "<h1>เข้าสู่ระบบ</h1>" in html
    assert ">ชื่อผู้ใช้</label>" in html and ">รหัสผ่าน</label>" in html  # Django's catalog
    assert "ยังไม่มีบัญชี?" in html and ">สร้างบัญชี</a>" in html
    assert "Sign in" not in html and "Password" not in html

    response = Client().post(
        "/accounts/login/",
        {"username": buyer.username, "password": "wrong"},
        HTTP_ACCEPT_LANGUAGE="th",
    )
    assert response.status_code == 200
    assert "กรุณากรอกชื่อผู้ใช้และรหัสผ่านให้ถูกต้อง" in page(response)


@pytest.mark.django_db
def test_the_sign_up_page_in_thai():
    html = page(Client().get("/accounts/signup/", HTTP_ACCEPT_LANGUAGE="th"))
    assert "<h1>สร้างบัญชี</h1>" in html and "มีบัญชีอยู่แล้ว?" in html
    for text in (
        ">อีเมล</label>",
        "เราจะส่งบัตรและการยืนยันคำสั่งซื้อไปที่อีเมลนี้",
        ">ยืนยันรหัสผ่าน</label>",
        "จำเป็นต้องกรอก ไม่เกิน 150 ตัวอักษร",  # username help (Django leaves it English)
        "รหัสผ่านต้องมีอย่างน้อย 8 ตัวอักษร",  # the validators' help
        "รหัสผ่านต้องไม่มีแต่ตัวเลข",
        "กรอกรหัสผ่านเดิมอีกครั้งเพื่อยืนยัน",
    ):
        assert text in html, text
    assert "Your password" not in html and "Required." not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("form", "thai"),
    [
        ({"password1": "Secret-pass-123", "password2": "other-pass-456"}, "รหัสผ่านทั้งสองช่องไม่ตรงกัน"),
        ({"password1": "Ab1-x", "password2": "Ab1-x"}, "รหัสผ่านนี้สั้นเกินไป ต้องมีอย่างน้อย 8 ตัวอักษร"),
        ({"password1": "12345678901", "password2": "12345678901"}, "รหัสผ่านนี้มีแต่ตัวเลข"),
        ({"password1": "password123", "password2": "password123"}, "รหัสผ่านนี้ง่ายและใช้กันทั่วไปเกินไป"),
        ({"password1": "somchai-th", "password2": "somchai-th"}, "รหัสผ่านคล้ายกับชื่อผู้ใช้มากเกินไป"),
        ({"username": "bad name!"}, "กรุณากรอกชื่อผู้ใช้ที่ถูกต้อง"),
        ({"email": "not-an-address"}, "กรอกอีเมลให้ถูกต้อง"),
    ],
)  # fmt: skip
def test_sign_up_errors_in_thai(form, thai):
    data = {"username": "somchai", "email": "somchai@example.com"}
    data |= {"password1": "Secret-pass-123", "password2": "Secret-pass-123"} | form
    response = Client().post("/accounts/signup/", data, HTTP_ACCEPT_LANGUAGE="th")
    assert response.status_code == 200
    assert thai in page(response)
    assert not get_user_model().objects.filter(username=data["username"]).exists()


@pytest.mark.django_db
def test_sign_up_and_sign_in_pages_in_english_by_default():
    html = Client().get("/accounts/signup/").content.decode()
    assert "<h1>Create an account</h1>" in html and ">Email</label>" in html
    assert "Your password must contain at least 8 characters." in html
    html = Client().get("/accounts/login/").content.decode()
    assert "<h1>Sign in</h1>" in html and "New here?" in html


@pytest.mark.django_db
def test_the_404_page_in_thai_and_english():
    response = Client().get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="th")
    assert response.status_code == 404
    html = page(response)
    assert '<html lang="th">' in html and "<h1>ไม่พบหน้าที่ต้องการ</h1>" in html
    assert ">ดูรอบการแสดงทั้งหมด</a>" in html and ">เข้าสู่ระบบ</a>" in html  # in the layout
    english = Client().get("/no-such-page/").content.decode()
    assert "<h1>Page not found</h1>" in english
    api = Client().get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="th")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"  # still JSON


def test_the_500_page_in_thai_and_english():
    request = RequestFactory().get("/showtimes/1/")
    with translation.override("th"):
        response = handler500(request)
    html = response.content.decode()
    assert response.status_code == 500
    assert '<html lang="th">' in html and "<h1>เกิดข้อผิดพลาด</h1>" in html
    with translation.override("en"):
        assert "<h1>Something went wrong</h1>" in handler500(request).content.decode()


@pytest.mark.django_db
def test_sign_ups_are_rate_limited_per_address_with_the_form_and_a_thai_message(settings):
    settings.RATELIMIT_ENABLE, settings.RATELIMIT_AUTH = True, "2/m"
    users = get_user_model().objects

    def sign_up(n, address):
        data = {
            "username": f"newbuyer{n}",
            "email": f"newbuyer{n}@example.com",
            "password1": "a-Long-pass-4321",
            "password2": "a-Long-pass-4321",
        }
        return Client().post(
            "/accounts/signup/", data, REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="th"
        )

    assert [sign_up(n, "10.1.2.3").status_code for n in range(2)] == [302, 302]
    refused = sign_up(2, "10.1.2.3")
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert "มีการสมัครสมาชิกจากที่อยู่ของคุณมากเกินไป" in page(refused)
    assert not users.filter(username="newbuyer2").exists()  # no account made
    assert sign_up(3, "10.1.2.4").status_code == 302  # another address is not held back
    assert users.filter(username="newbuyer3").exists()
