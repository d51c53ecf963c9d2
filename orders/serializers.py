"""Request and response serializers of the order endpoints (api.md "Orders")."""

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import serializers

from seats.serializers import MAX_LIST, SEATS_HELP

from .models import Order


class CustomerSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class OrderCreateSerializer(serializers.Serializer):
    """Either ``{"hold": "<uuid>"}`` or ``{"showtime": id, "seats": [...]}``, plus ``customer`` and
    ``payment_method``."""

    hold = serializers.UUIDField(required=False)
    showtime = serializers.IntegerField(required=False, min_value=1)
    seats = serializers.ListField(
        child=serializers.CharField(max_length=64),
        min_length=1,
        max_length=MAX_LIST,
        required=False,
        help_text=SEATS_HELP,
    )
    customer = CustomerSerializer()
    payment_method = serializers.ChoiceField(Order.PaymentMethod.choices)

    def validate(self, attrs):
        has_hold = "hold" in attrs
        has_seats = "showtime" in attrs or "seats" in attrs
        if has_hold == has_seats:
            raise serializers.ValidationError(
                _("Give either a hold or a showtime with seats, not both.")
            )
        if has_seats and not ("showtime" in attrs and "seats" in attrs):
            raise serializers.ValidationError(_("Give both showtime and seats."))
        return attrs


class SeatRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label


class OrderLineSerializer(serializers.Serializer):
    seat = SeatRefSerializer()
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)


class OrderSerializer(serializers.Serializer):
    """An order as the API shows it (api.md); ``status`` under the lapse rule
    (``seats/lapse.py``)."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.ChoiceField(
        Order.Status.choices,
        help_text="The order's status when the answer was made. Lapse rule: a pending order "
        "reads `expired` from its payment deadline `expires_at` on, whether or not the cleanup "
        "has recorded it yet; a paid order never expires.",
    )
    showtime = serializers.IntegerField()
    tickets = OrderLineSerializer(many=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    payment_method = serializers.CharField()
    language = serializers.ChoiceField(
        settings.LANGUAGES,
        help_text="The buyer's language when the order was made (the request's language: saved "
        "preference, `?lang=`, cookie or `Accept-Language`); the order's e-mails and tickets "
        "are in it.",
    )
    customer = CustomerSerializer()
    expires_at = serializers.DateTimeField(
        help_text="The payment deadline: from this instant a pending order reads `expired` and "
        "its seats are free."
    )
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)


class TicketSerializer(serializers.Serializer):
    code = serializers.CharField()
    seat = SeatRefSerializer()
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    status = serializers.ChoiceField(["valid", "used", "void"])
    qr_svg_url = serializers.CharField()
