"""URLs: pages, the admin, the v1 API under ``/api/v1/``, and the OpenAPI schema and docs."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from orders.api import OrderViewSet
from orders.views import ticket_qr
from seats.api import HoldCreateView, HoldViewSet, ShowtimeViewSet, ShowViewSet
from seats.views import showtime_detail, showtime_list

from .ops import HealthView, StatsView
from .accounts import RegisterView, TokenRefresh, TokenView, signup

router = DefaultRouter()
router.include_root_view = False
router.register("shows", ShowViewSet, basename="show")
router.register("showtimes", ShowtimeViewSet, basename="showtime")
router.register("holds", HoldViewSet, basename="hold")
router.register("orders", OrderViewSet, basename="order")

api_v1 = [
    path("auth/register/", RegisterView.as_view(), name="register"),
    path("auth/token/", TokenView.as_view(), name="token"),
    path("auth/token/refresh/", TokenRefresh.as_view(), name="token-refresh"),
    path("health/", HealthView.as_view(), name="health"),
    path("stats/", StatsView.as_view(), name="stats"),
    path("showtimes/<int:showtime_id>/holds/", HoldCreateView.as_view(), name="hold-create"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", showtime_list, name="home"),
    path("showtimes/<int:showtime_id>/", showtime_detail, name="showtime-page"),
    path("tickets/<str:code>/qr.svg", ticket_qr, name="ticket-qr"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", signup, name="signup"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
