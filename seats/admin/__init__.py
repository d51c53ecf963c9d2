"""The staff side of seat inventory in the Django admin ("Seatline box office"), one module per job.

Admin code here only validates input, calls one service and reports what it did; the rules live
in :mod:`seats.importer` (plan import), :mod:`seats.services` (showtimes, inventory, blocks,
holds) and :mod:`orders.services`. Every seat change therefore takes the same locks, writes the
same audit trail (``SeatEvent``) and publishes the same ``seats.changed`` frames after commit as
the API. The shared toolkit (confirmation pages, view-only admins, status-now helpers) is
:mod:`core.admin`.

- :mod:`.venues`: venues; seating plans, added by uploading a pretix seating-plan JSON file and
  read-only afterwards (the seats come from the file).
- :mod:`.showtimes`: shows; showtimes with their prices, created by
  :func:`seats.services.showtime_create` (which also creates the inventory).
- :mod:`.showtime_seats`: the seats of a showtime: block selected seats, their whole rows or whole
  zones (with a reason), unblock them. Seats that are held, reserved, sold or already blocked are
  skipped and listed.
- :mod:`.holds`: force-release a buyer's active hold.
- :mod:`.audit`: ``SeatEvent`` rows, view only, also shown on the seat and linked from the
  showtime.
"""

from . import audit, holds, showtime_seats, showtimes, venues

__all__ = ["audit", "holds", "showtime_seats", "showtimes", "venues"]
