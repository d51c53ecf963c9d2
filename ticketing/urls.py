"""URLs: pages, the admin, the v1 API under ``/api/v1/``, and the OpenAPI schema and docs."""

import uuid

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path, register_converter
from django.views.i18n import JavaScriptCatalog
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from core.pagination import BIGINT_MAX
from orders.api import OrderViewSet
from orders.payments_api import CheckInView, PaymentWebhookView
from orders.views import (
    account_order_cancel,
    account_orders,
    checkin_page,
    sales_page,
    ticket_page,
    ticket_qr,
)
from realtime.api import SocketTicketView
from seats.api import (
    BestAvailableView,
    HoldCreateView,
    HoldViewSet,
    LayoutView,
    QueueView,
    ShowtimeViewSet,
    ShowViewSet,
)
from seats.views import showtime_detail, showtime_list

from .accounts import RegisterView, TokenRefresh, TokenView, signup
from .i18n import set_language
from .me_api import MeView
from .ops import HealthView, SalesView, StatsView


class TicketCodeConverter:
    """A ticket code in a URL: 1–64 characters of ``secrets.token_urlsafe`` (letters, digits, ``-``,
    ``_``). Anything else is a 404 before the database is asked (a NUL byte made PostgreSQL raise
    ``DataError``: issue #14)."""

    regex = r"[A-Za-z0-9_-]{1,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class Id64Converter:
    """A row id in a URL (shows, showtimes, orders): ASCII digits that fit a PostgreSQL
    ``BIGINT``, as an ``int``. Anything else (letters, a sign, ``2**63`` or more) matches no
    route, so it is a 404 with the api.md error body (``ticketing.errors.handler404``) before a
    view or the database sees it (``ticketing/tests/test_hostile.py``)."""

    regex = r"[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > BIGINT_MAX:
            raise ValueError(value)  # Django: no match
        return number

    def to_url(self, value: int) -> str:
        return str(value)


class HoldIdConverter:
    """A hold id in a URL: a UUID in any spelling ``uuid.UUID`` accepts (hex with or without
    hyphens, any case), as a ``uuid.UUID``; anything else matches no route (404)."""

    regex = r"[0-9A-Fa-f-]{32,36}"

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)  # ValueError: no match

    def to_url(self, value: uuid.UUID | str) -> str:
        return str(value)


register_converter(TicketCodeConverter, "ticketcode")
register_converter(Id64Converter, "id64")
register_converter(HoldIdConverter, "holdid")

# Each viewset names its converter (``lookup_value_converter``): ids are parsed here, once.
router = DefaultRouter(use_regex_path=False)
router.include_root_view = False
router.include_format_suffixes = False  # JSON only (api.md): no "shows.json" routes
router.register("shows", ShowViewSet, basename="show")
router.register("showtimes", ShowtimeViewSet, basename="showtime")
router.register("holds", HoldViewSet, basename="hold")
router.register("orders", OrderViewSet, basename="order")

api_v1: list[URLPattern | URLResolver] = [
    path("auth/register/", RegisterView.as_view(), name="register"),
    path("auth/token/", TokenView.as_view(), name="token"),
    path("auth/token/refresh/", TokenRefresh.as_view(), name="token-refresh"),
    path("auth/me/", MeView.as_view(), name="me"),
    path("health/", HealthView.as_view(), name="health"),
    path("realtime/tickets/", SocketTicketView.as_view(), name="socket-ticket"),
    path("payments/webhook/", PaymentWebhookView.as_view(), name="payment-webhook"),
    path("checkin/", CheckInView.as_view(), name="checkin"),
    path("showtimes/<id64:showtime_id>/sales/", SalesView.as_view(), name="showtime-sales"),
    path("stats/", StatsView.as_view(), name="stats"),
    path("showtimes/<id64:showtime_id>/holds/", HoldCreateView.as_view(), name="hold-create"),
    path("showtimes/<id64:showtime_id>/holds/best/", BestAvailableView.as_view(), name="hold-best"),
    path("showtimes/<id64:showtime_id>/queue/", QueueView.as_view(), name="showtime-queue"),
    path("plans/<id64:plan_id>/layouts/<str:version>/", LayoutView.as_view(), name="plan-layout"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", showtime_list, name="home"),
    path("showtimes/<id64:showtime_id>/", showtime_detail, name="showtime-page"),
    path("account/orders/", account_orders, name="account-orders"),
    path(
        "account/orders/<id64:order_id>/cancel/",
        account_order_cancel,
        name="account-order-cancel",
    ),
    path("tickets/<ticketcode:code>/", ticket_page, name="ticket-page"),
    path("tickets/<ticketcode:code>/qr.svg", ticket_qr, name="ticket-qr"),
    path("staff/checkin/", checkin_page, name="checkin-page"),
    path("staff/showtimes/<id64:showtime_id>/sales/", sales_page, name="sales-page"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", signup, name="signup"),
    path("i18n/setlang/", set_language, name="set_language"),
    # The seat map script's strings in the request's language (Django's JavaScriptCatalog).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("metrics", ExportToDjangoView, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler404 = "ticketing.errors.handler404"
handler500 = "ticketing.errors.handler500"
