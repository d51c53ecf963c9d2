"""Server-rendered pages: the showtime list and the seat map page (realtime.md "Seat map page")."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Showtime
from .selectors import active_hold_for


def showtime_list(request):
    """``/``: showtimes, soonest first."""
    showtimes = Showtime.objects.select_related("show", "plan__venue").order_by("starts_at", "id")
    return render(request, "seats/showtime_list.html", {"showtimes": showtimes})


def showtime_detail(request: HttpRequest, showtime_id: int) -> HttpResponse:
    """``/showtimes/{id}/``: the live seat map; the script draws it from the API snapshot."""
    showtime = get_object_or_404(
        Showtime.objects.select_related("show", "plan__venue"), pk=showtime_id
    )
    hold = active_hold_for(request.user, showtime.pk)
    return render(
        request,
        "seats/showtime_detail.html",
        {
            "showtime": showtime,
            "active_hold_id": str(hold.pk) if hold else "",
        },
    )
