"""Accounts: the register/token API (api.md "Auth") and the sign-up page.

Sign-in and sign-out pages are Django's own auth views (see ``ticketing/urls.py``).
"""

from django import forms
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from core.ratelimits import limited, page_limited
from core.schema import errors, retry_after

User = get_user_model()


class RegisterSerializer(serializers.Serializer):
    """``{"username", "email", "password"}``; the password must pass Django's validators."""

    username = serializers.RegexField(r"^[\w.@+-]{1,150}$", max_length=150)
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128)

    def validate_username(self, value):
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError(_("This username is taken."))
        return value

    def validate(self, attrs):
        candidate = User(username=attrs["username"], email=attrs["email"])
        try:
            validate_password(attrs["password"], candidate)
        except Exception as exc:  # django.core.exceptions.ValidationError
            raise serializers.ValidationError(
                {"password": list(getattr(exc, "messages", [str(exc)]))}
            ) from exc
        return attrs


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()


class RegisterView(APIView):
    """``POST auth/register/`` → 201 ``{"id", "username", "email"}``; 400 ``validation_error``."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        request=RegisterSerializer,
        responses={201: UserSerializer, **errors(400, 413, 415, 429)},
        parameters=[retry_after(429)],
    )
    @limited("RATELIMIT_AUTH", "auth")
    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                user = User.objects.create_user(**data.validated_data)
        except IntegrityError:  # the same username registered at the same moment
            raise serializers.ValidationError(
                {"username": [_("This username is taken.")]}
            ) from None
        return Response(
            {"id": user.pk, "username": user.username, "email": user.email},
            status=status.HTTP_201_CREATED,
        )


class TokenView(TokenObtainPairView):
    """``POST auth/token/ {"username", "password"}`` → ``{"access", "refresh"}`` (simplejwt)."""

    @extend_schema(
        request=TokenObtainPairSerializer,
        responses={
            200: TokenObtainPairSerializer,
            **errors(400, (401, "token_invalid"), 413, 415, 429),
        },
        parameters=[retry_after(429)],
        description="Exchange a username and password for an access and a refresh JWT. "
        "401 token_invalid: wrong username or password, or an inactive account.",
    )
    @limited("RATELIMIT_AUTH", "auth")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class TokenRefresh(TokenRefreshView):
    """``POST auth/token/refresh/ {"refresh"}`` → ``{"access"}`` (simplejwt)."""

    @extend_schema(
        request=TokenRefreshSerializer,
        responses={
            200: TokenRefreshSerializer,
            **errors(400, (401, "token_invalid"), 413, 415, 429),
        },
        parameters=[retry_after(429)],
        description="Exchange a refresh JWT for a new access JWT. 401 token_invalid: the refresh "
        "token is expired, forged or not a refresh token.",
    )
    @limited("RATELIMIT_AUTH", "auth")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class SignupForm(UserCreationForm):
    """Username, e-mail address, password twice. Labels, help texts and errors are Django's
    (translated by its catalog and ours: ``ticketing/thirdparty_messages.py``) but the e-mail's."""

    email = forms.EmailField(
        label=gettext_lazy("Email"),
        required=True,
        help_text=gettext_lazy("Your tickets and order confirmations are sent here."),
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


@page_limited("RATELIMIT_AUTH", "signup")
def signup(request):
    """The sign-up page: creates the account, signs the buyer in and returns to ``next``.

    Sign-ups are rate-limited per client address (``RATELIMIT_AUTH``, like ``POST
    auth/register/``; a waiting room must not be flooded with fresh accounts): over the limit the
    form comes back with 429, a message and ``Retry-After: 60``, and no account is made."""
    form = SignupForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if getattr(request, "limited", False):
        context = {"form": SignupForm(), "next": next_url, "limited": True}
        response = render(request, "registration/signup.html", context, status=429)
        response["Retry-After"] = "60"
        return response
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
            next_url = "/"
        return redirect(next_url)
    return render(request, "registration/signup.html", {"form": form, "next": next_url})
