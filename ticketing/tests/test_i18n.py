"""Thai and English (issue #17; docs/i18n.md): complete catalogs, and where a request's language
comes from (saved preference, ``?lang=``, cookie, ``Accept-Language``, ``LANGUAGE_CODE``), said in
``Content-Language``."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client

from conftest import client_for
from ticketing.i18n import save_language

LOCALE = Path(settings.LOCALE_PATHS[0])


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_thai_catalogs_have_no_untranslated_or_fuzzy_entry(domain):
    """CI runs ``./dev messages`` (makemessages) first: a string marked for translation and left
    untranslated, or a changed string left fuzzy, fails here."""
    po = LOCALE / "th" / "LC_MESSAGES" / f"{domain}.po"
    assert po.exists(), f"{po} is missing: run ./dev messages"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="th")
    untranslated = [
        m.id
        for m in catalog
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [], f"untranslated in {po.name}: {untranslated[:20]}"
    assert fuzzy == [], f"fuzzy in {po.name}: {fuzzy[:20]}"


def language_of(response) -> str:
    return response.headers["Content-Language"]


@pytest.mark.django_db
def test_accept_language_picks_thai_and_says_so():
    client = Client()
    assert language_of(client.get("/api/v1/shows/")) == "en"
    for header in ("th", "th-TH", "th-TH,th;q=0.9,en;q=0.5"):
        response = client.get("/api/v1/shows/", HTTP_ACCEPT_LANGUAGE=header)
        assert language_of(response) == "th", header
        assert "Accept-Language" in response.headers["Vary"]
    assert language_of(client.get("/api/v1/shows/", HTTP_ACCEPT_LANGUAGE="de, fr")) == "en"


@pytest.mark.django_db
def test_lang_parameter_beats_accept_language_and_sticks_in_a_cookie():
    client = Client()
    response = client.get("/api/v1/shows/?lang=th", HTTP_ACCEPT_LANGUAGE="en")
    assert language_of(response) == "th"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "th"
    assert language_of(client.get("/api/v1/shows/", HTTP_ACCEPT_LANGUAGE="en")) == "th"
    assert language_of(client.get("/api/v1/shows/?lang=xx-nope")) == "th"  # ignored


@pytest.mark.django_db
def test_a_saved_preference_beats_everything(buyer):
    save_language(buyer, "th")
    api = client_for(buyer)  # JWT
    assert language_of(api.get("/api/v1/orders/", HTTP_ACCEPT_LANGUAGE="en")) == "th"
    page = Client()
    page.force_login(buyer)
    response = page.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert language_of(response) == "th"
    assert '<html lang="th">' in response.content.decode()


@pytest.mark.django_db
def test_the_switcher_sets_the_cookie_and_saves_the_preference(buyer):
    page = Client()
    page.force_login(buyer)
    response = page.post("/i18n/setlang/", {"language": "th", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert buyer.profile.language == "th"
    anonymous = Client()
    response = anonymous.post("/i18n/setlang/", {"language": "th", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"  # no open redirect
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "th"
    assert Client().get("/i18n/setlang/").status_code == 405
