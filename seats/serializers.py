"""Request and response serializers of the catalog and hold endpoints (api.md)."""

from django.utils.translation import gettext as _
from rest_framework import serializers

from .models import Show

# A hard cap on list sizes in request bodies, far above any max_seats_per_order; larger lists are
# refused as validation errors before any database work.
MAX_LIST = 100


class GAItemSerializer(serializers.Serializer):
    """``{"zone": "<general-admission area>", "quantity": n}``."""

    zone = serializers.CharField(max_length=100)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LIST)


# Seat ids in request bodies: each seat once. Two spellings of one GUID (letter case, hyphens,
# braces) are the same seat; the services refuse them (seats.services.seat_ids_parse).
SEATS_HELP = (
    "Seat ids (the plan's seat GUIDs), each seat once: two spellings of one GUID "
    "(letter case, hyphens, braces) count as the same seat listed twice (400 "
    "validation_error, details.seats)."
)


class HoldRequestSerializer(serializers.Serializer):
    """``{"seats": ["<seat guid>", ...], "ga": [{"zone", "quantity"}]}``: seats, places of
    general-admission zones, or both (at least one of them)."""

    seats = serializers.ListField(
        child=serializers.CharField(max_length=64),
        min_length=1,
        max_length=MAX_LIST,
        required=False,
        help_text=SEATS_HELP,
    )
    ga = GAItemSerializer(many=True, required=False, allow_empty=False, max_length=20)  # type: ignore[call-arg]  # many=True hands it to ListSerializer

    def validate(self, attrs):
        if not attrs.get("seats") and not attrs.get("ga"):
            raise serializers.ValidationError({"seats": [_("Give seats, ga places, or both.")]})
        return attrs


class BestAvailableSerializer(serializers.Serializer):
    """``{"quantity": n, "category": optional name, "zone": optional name}``."""

    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LIST)
    category = serializers.CharField(max_length=100, required=False)
    zone = serializers.CharField(max_length=100, required=False)


class SeatReleaseSerializer(serializers.Serializer):
    """``{"seats": [...]}`` to release some seats; no ``seats`` releases all."""

    seats = serializers.ListField(
        child=serializers.CharField(max_length=64),
        min_length=1,
        max_length=MAX_LIST,
        required=False,
        help_text=SEATS_HELP,
    )


class ShowSerializer(serializers.ModelSerializer):
    class Meta:
        model = Show
        fields = ["id", "title", "description"]


class CategorySerializer(serializers.Serializer):
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    color = serializers.CharField(help_text="The plan's colour, as the plan file gives it.")
    display_color = serializers.CharField(
        help_text="#rrggbb: the colour a seat map draws the category in: the plan's colour "
        "unless it could be mistaken for a seat state (greys, greens, very dark or light) or "
        'another category (docs/api.md "Plan layout").'
    )


class LayoutRefSerializer(serializers.Serializer):
    """How a showtime, a live form or a snapshot frame names the plan's current layout."""

    version = serializers.CharField(help_text="16 hex digits; changes with the plan's geometry.")
    url = serializers.CharField(
        help_text="Path of GET plans/{id}/layouts/{version}/ on this host (cacheable for good)."
    )
    seats = serializers.IntegerField(help_text="Seats in the layout (and in its live forms).")


class CountsSerializer(serializers.Serializer):
    available = serializers.IntegerField()
    held = serializers.IntegerField()
    reserved = serializers.IntegerField()
    sold = serializers.IntegerField()
    blocked = serializers.IntegerField()


class RefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField(required=False)
    name = serializers.CharField(required=False)


class ShowtimeSerializer(serializers.Serializer):
    """``GET showtimes/{id}/``: see api.md "Catalog"."""

    id = serializers.IntegerField()
    show = RefSerializer()
    venue = RefSerializer()
    starts_at = serializers.DateTimeField()
    status = serializers.CharField()
    currency = serializers.CharField()
    hold_ttl_seconds = serializers.IntegerField()
    max_seats_per_order = serializers.IntegerField()
    max_seats_per_buyer = serializers.IntegerField(
        help_text="Seats one buyer may have held or in unpaid orders of this showtime together "
        "(409 buyer_limit past it)."
    )
    max_pending_orders_per_buyer = serializers.IntegerField(
        help_text="Unpaid (pending) orders one buyer may have for this showtime (409 "
        "buyer_limit past it)."
    )
    abandon_grace_seconds = serializers.IntegerField(
        help_text="Seconds a hold outlives its buyer's last open seat map socket before it is "
        "released as abandoned (0: never; a hold made without a socket keeps its full time)."
    )
    max_hold_extensions = serializers.IntegerField(
        help_text="How many times POST holds/{id}/extend/ may extend one hold."
    )
    max_hold_seconds = serializers.IntegerField(
        help_text="Extensions never take a hold's expires_at further than this many seconds "
        "after it was made."
    )
    categories = CategorySerializer(many=True)
    counts = CountsSerializer()
    layout = LayoutRefSerializer(help_text="The plan's current layout (the seat map's geometry).")


class SnapshotSeatSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    zone = serializers.CharField()
    row = serializers.CharField()
    number = serializers.CharField()
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    x = serializers.FloatField()
    y = serializers.FloatField()
    wheelchair = serializers.BooleanField()
    status = serializers.ChoiceField(["available", "held", "reserved", "sold", "blocked"])
    version = serializers.IntegerField()


class SnapshotSerializer(serializers.Serializer):
    """``GET showtimes/{id}/seats/``: the seat map, the single source of truth."""

    showtime = serializers.IntegerField()
    as_of = serializers.DateTimeField()
    seats = SnapshotSeatSerializer(many=True)


class HoldSeatSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)


class HoldSerializer(serializers.Serializer):
    """A hold: ``{"id", "showtime", "status", "seats", "expires_at", "expires_in",
    "extensions_left", "max_expires_at", "total"}``; ``status`` under the lapse rule
    (``seats/lapse.py``)."""

    id = serializers.UUIDField()
    showtime = serializers.IntegerField()
    status = serializers.ChoiceField(
        ["active", "converted", "released", "expired"],
        help_text="The hold's status when the answer was made. Lapse rule: an active hold reads "
        "`expired` from its `expires_at` on, whether or not the cleanup has recorded it yet.",
    )
    seats = HoldSeatSerializer(
        many=True,
        help_text="The seats the hold keeps; empty once it is released or expired "
        "(lapsed included: those seats already read `available` on the seat map).",
    )
    expires_at = serializers.DateTimeField(
        help_text="When an active hold lapses: from this instant it reads `expired` and its "
        "seats are free. POST holds/{id}/extend/ moves it."
    )
    expires_in = serializers.IntegerField(
        min_value=0,
        help_text="Seconds left until `expires_at` when the answer was made, rounded up (at "
        "least 1 while the hold is active); 0 once it is not active.",
    )
    extensions_left = serializers.IntegerField(
        min_value=0,
        help_text="How many more times POST holds/{id}/extend/ may extend the hold: the "
        "showtime's `max_hold_extensions` minus the extensions made; 0 when the hold is not "
        "active or its `expires_at` already is `max_expires_at`.",
    )
    max_expires_at = serializers.DateTimeField(
        help_text="The latest `expires_at` extensions can reach: when the hold was made plus the "
        "showtime's `max_hold_seconds`."
    )
    total = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="The sum of `seats`' prices."
    )


class SnapshotGASerializer(serializers.Serializer):
    """A general-admission area with its free places now."""

    zone = serializers.CharField()
    capacity = serializers.IntegerField()
    available = serializers.IntegerField()
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)


class LiveFormSerializer(serializers.Serializer):
    """The live form: every layout seat's status and version, encoded (docs/api.md "Live
    form")."""

    layout = serializers.CharField(help_text="The layout version the seats are aligned with.")
    count = serializers.IntegerField(help_text="Seats encoded (the layout's seats.count).")
    encoding = serializers.ChoiceField(["varint-base64"])
    data = serializers.CharField(  # type: ignore[assignment]  # a field named like Serializer.data (the metaclass moves it into the fields)
        help_text="base64 (standard, padded) of one unsigned LEB128 varint per layout seat, in "
        "layout order: version * 8 + code (0 available, 1 held, 2 reserved, 3 sold, 4 blocked)."
    )


class LiveSnapshotSerializer(serializers.Serializer):
    """``GET showtimes/{id}/live/``: the seat map's states in the live form."""

    showtime = serializers.IntegerField()
    as_of = serializers.DateTimeField()
    layout = LayoutRefSerializer()
    live = LiveFormSerializer()
    ga = SnapshotGASerializer(many=True)


class BoundsSerializer(serializers.Serializer):
    min_x = serializers.FloatField()
    min_y = serializers.FloatField()
    max_x = serializers.FloatField()
    max_y = serializers.FloatField()


class SizeSerializer(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class PointSerializer(serializers.Serializer):
    x = serializers.FloatField()
    y = serializers.FloatField()


class LayoutCategorySerializer(serializers.Serializer):
    name = serializers.CharField()
    color = serializers.CharField(help_text="The plan's colour.")
    display_color = serializers.CharField(help_text="#rrggbb the seat map draws it in.")


class LayoutZoneSerializer(serializers.Serializer):
    name = serializers.CharField()
    seats = serializers.IntegerField()
    bounds = BoundsSerializer()


class LayoutSeatsSerializer(serializers.Serializer):
    """Column lists, one entry per seat, all in the layout's seat order."""

    count = serializers.IntegerField()
    id = serializers.ListField(child=serializers.UUIDField(), help_text="Seat GUIDs.")
    label = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]  # a field named like Field.label
    zone = serializers.ListField(child=serializers.IntegerField(), help_text="Index in zones.")
    row = serializers.ListField(child=serializers.CharField())
    number = serializers.ListField(child=serializers.CharField())
    category = serializers.ListField(
        child=serializers.IntegerField(), help_text="Index in categories, -1 for none."
    )
    x = serializers.ListField(child=serializers.FloatField())
    y = serializers.ListField(child=serializers.FloatField())
    wheelchair = serializers.ListField(
        child=serializers.IntegerField(), help_text="Indexes of the wheelchair spaces."
    )


class LayoutGASerializer(serializers.Serializer):
    zone = serializers.CharField()
    capacity = serializers.IntegerField()
    category = serializers.IntegerField(help_text="Index in categories.")
    x = serializers.FloatField()
    y = serializers.FloatField()


class LayoutSerializer(serializers.Serializer):
    """``GET plans/{id}/layouts/{version}/``: a plan's geometry, immutable per version."""

    plan = serializers.IntegerField()
    version = serializers.CharField()
    venue = serializers.CharField()
    name = serializers.CharField()
    size = SizeSerializer()
    bounds = BoundsSerializer(help_text="Of the seats; zeros when there are none.")
    focus = PointSerializer(allow_null=True, help_text="The stage or ring; null: none set.")
    categories = LayoutCategorySerializer(many=True)
    zones = LayoutZoneSerializer(many=True, help_text="In order of first appearance.")
    seats = LayoutSeatsSerializer()
    ga = LayoutGASerializer(many=True)


class QueueStatusSerializer(serializers.Serializer):
    """A buyer's place in a showtime's waiting room (docs/waiting-room.md)."""

    position = serializers.IntegerField(
        allow_null=True,
        help_text="The buyer's place; null until the admitter gives it: in the early pool (drawn "
        "at the on-sale) or, after the draw, for about a second after joining.",
    )
    admitted_up_to = serializers.IntegerField(help_text="Places up to this one were admitted.")
    state = serializers.ChoiceField(choices=["early", "waiting", "admitted", "finished"])
    active = serializers.IntegerField(help_text="Admitted buyers still choosing or paying.")
    target = serializers.IntegerField(help_text="The target of active buyers.")
    rate_per_minute = serializers.IntegerField(help_text="The admission rate cap.")
    admitting_per_minute = serializers.IntegerField(
        help_text="The pace the estimated wait uses: the cap while active buyers are below the "
        "target; at the target, admissions in the last minute (the cap in the first minute)."
    )
    paused = serializers.BooleanField(help_text="Staff paused admission.")
    shuffled = serializers.BooleanField(
        help_text="The draw of the early pool was made (the on-sale came): a null position "
        "means the place comes with the admitter's next step."
    )
    estimated_wait_seconds = serializers.IntegerField(
        allow_null=True,
        help_text="ceil(places ahead × 60 / admitting_per_minute); null without a place yet, "
        "0 once admitted.",
    )
    # Field named "pass" in JSON (a Python keyword).
    pass_expires_at = serializers.DateTimeField(allow_null=True)


QueueStatusSerializer._declared_fields["pass"] = serializers.CharField(
    allow_null=True, help_text="The signed pass (header X-Queue-Pass); only when admitted."
)
