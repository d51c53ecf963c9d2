"""Server-rendered pages: the showtime list and the seat map page (realtime.md "Seat map page")."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from .models import QueueEntry, Showtime
from .selectors import active_hold_for
from .services.waiting import entry_state, queue_pass_make


def showtime_list(request):
    """``/``: showtimes, soonest first."""
    showtimes = Showtime.objects.select_related("show", "plan__venue").order_by("starts_at", "id")
    return render(request, "seats/showtime_list.html", {"showtimes": showtimes})


def showtime_detail(request: HttpRequest, showtime_id: int) -> HttpResponse:
    """``/showtimes/{id}/``: the live seat map; the script draws it from the API snapshot.

    With the showtime's waiting room on (docs/waiting-room.md "The queue page"), a signed-in buyer
    who is not admitted gets the queue page instead (``static/js/queue.js`` joins and waits); an
    admitted one gets the map with their pass (``data-queue-pass``), which the map's script sends
    as ``X-Queue-Pass``. A visitor not signed in sees the map, read-only as always."""
    showtime = get_object_or_404(
        Showtime.objects.select_related("show", "plan__venue"), pk=showtime_id
    )
    queue_pass = ""
    if showtime.queue_enabled and request.user.is_authenticated:
        entry = QueueEntry.objects.filter(showtime=showtime, user_id=request.user.pk).first()
        if entry is None or entry_state(entry) != "admitted":
            before_onsale = showtime.onsale_at is not None and timezone.now() < showtime.onsale_at
            context = {"showtime": showtime, "before_onsale": before_onsale}
            return render(request, "seats/showtime_queue.html", context)
        queue_pass = queue_pass_make(entry)
    hold = active_hold_for(request.user, showtime.pk)
    return render(
        request,
        "seats/showtime_detail.html",
        {
            "showtime": showtime,
            "active_hold_id": str(hold.pk) if hold else "",
            "queue_pass": queue_pass,
        },
    )
