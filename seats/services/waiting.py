"""The waiting room of an on-sale (issue #19, docs/waiting-room.md): joining, the shuffle of the
early pool, the admitter step, the pass and its check, the staff actions.

Everything lives in the database (:class:`~seats.models.QueueState`, one row per showtime, and
:class:`~seats.models.QueueEntry`, one per buyer and showtime), so a restart loses no place and
several server processes share one queue. The state row is locked (``seats.locks.
lock_queue_state``) by the shuffle, by a join that takes a place after the on-sale, and by the
admitter; the admitter skips a row another process holds, so two admitters never both act.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import MutableSequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import events
from core.errors import ApplicationError

from ..locks import lock_queue_state, run_in_transaction
from ..models import Hold, QueueEntry, QueueState, Showtime

if TYPE_CHECKING:
    from random import Random

    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

PASS_SALT = "seatline.queue.pass"
PASS_HEADER = "X-Queue-Pass"


class QueuePassInvalid(Exception):
    """A queue pass that does not admit this buyer to this showtime now (``reason``: ``tampered``,
    ``expired``, ``other_user``, ``other_showtime``)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class AdmitResult:
    """What one admitter step did: ``skipped`` when another process held the queue."""

    admitted: list[int] = field(default_factory=list)  # QueueEntry ids
    admitted_up_to: int = 0
    active: int = 0
    rate: int = 0
    finished: int = 0
    skipped: bool = False
    target: int = 0
    paused: bool = False
    shuffled: bool = False  # the early pool has its places (onsale_at came)
    waiting: bool = False  # someone is queued and not admitted yet (after this step)


# --- Reading ------------------------------------------------------------------------------------


def queued_showtime(showtime_id: int) -> Showtime:
    """The showtime if its waiting room is on.

    Raises:
        ApplicationError: 404 ``not_found`` when there is no such showtime or it has no queue.
    """
    showtime = Showtime.objects.filter(pk=showtime_id, queue_enabled=True).first()
    if showtime is None:
        raise ApplicationError("not_found", _("This showtime has no waiting room."), status=404)
    return showtime


def _state(showtime_id: int) -> QueueState:
    state, _created = QueueState.objects.get_or_create(showtime_id=showtime_id)
    return state


def active_count(showtime_id: int) -> int:
    """Admitted buyers who have not finished."""
    return QueueEntry.objects.filter(
        showtime_id=showtime_id, admitted_at__isnull=False, finished_at__isnull=True
    ).count()


def entry_state(entry: QueueEntry, now: datetime | None = None) -> str:
    """``early`` (no place yet), ``waiting``, ``admitted`` or ``finished`` at ``now``: an
    admitted buyer whose pass has run out is ``finished`` even before the admitter's next step
    marks it (their writes would be refused: the map must not open for them again)."""
    if entry.finished_at is not None:
        return "finished"
    if entry.admitted_at is not None:
        expired = entry.pass_expires_at is not None and entry.pass_expires_at <= (
            now or timezone.now()
        )
        return "finished" if expired else "admitted"
    return "early" if entry.position is None else "waiting"


def queue_status(entry: QueueEntry, showtime: Showtime, now: datetime | None = None) -> dict:
    """The body of ``GET``/``POST showtimes/{id}/queue/`` (api.md "Waiting room")."""
    now = now or timezone.now()
    state = _state(showtime.pk)
    rate = showtime.admission_rate_per_minute
    kind = entry_state(entry, now)
    wait: int | None = 0
    if kind == "early":
        wait = None
    elif kind == "waiting":
        assert entry.position is not None
        ahead = max(0, entry.position - state.admitted_up_to)
        wait = math.ceil(ahead * 60 / rate)
    admitted = kind == "admitted" and entry.pass_expires_at is not None
    return {
        "position": entry.position,
        "admitted_up_to": state.admitted_up_to,
        "state": kind,
        "active": active_count(showtime.pk),
        "target": showtime.target_active_buyers,
        "rate_per_minute": rate,
        "paused": state.paused,
        "estimated_wait_seconds": wait,
        "pass": queue_pass_make(entry) if admitted else None,
        "pass_expires_at": entry.pass_expires_at if admitted else None,
    }


# --- Joining and the shuffle --------------------------------------------------------------------


def shuffle_places(entries: MutableSequence[Any], rng: Random | None = None) -> None:
    """Shuffle ``entries`` in place: Fisher–Yates with ``rng``, by default a new
    ``secrets.SystemRandom()`` (the operating system's CSPRNG: nobody can predict or replay it)."""
    (rng or secrets.SystemRandom()).shuffle(entries)


def _shuffle_if_due(state: QueueState, showtime: Showtime, now: datetime) -> None:
    """At or after ``onsale_at`` (or at once without one), give the early pool its places once:
    a random order, places ``next_position`` onwards. The caller holds the state row's lock."""
    if state.shuffled or (showtime.onsale_at is not None and now < showtime.onsale_at):
        return
    pool = list(
        QueueEntry.objects.filter(showtime_id=showtime.pk, position__isnull=True)
        .exclude(admitted_at__isnull=False)
        .order_by("joined_at", "pk")
    )
    shuffle_places(pool)
    for offset, entry in enumerate(pool):
        entry.position = state.next_position + offset
    QueueEntry.objects.bulk_update(pool, ["position"], batch_size=500)
    state.next_position += len(pool)
    state.shuffled = True
    state.save(update_fields=["next_position", "shuffled"])


def queue_join(user: User, showtime_id: int, now: datetime | None = None) -> QueueEntry:
    """Put ``user`` in the waiting room of the showtime once, and return their entry.

    Joining again (a second tab, a reconnect) returns the same entry: the place is kept. Before
    ``onsale_at`` the entry has no place (the early pool); the first join or admitter step at or
    after ``onsale_at`` shuffles the pool (:func:`shuffle_places`), and later joiners get the
    next places in order of arrival.

    Raises:
        ApplicationError: 404 ``not_found`` when the showtime has no waiting room.
    """
    showtime = queued_showtime(showtime_id)
    found = QueueEntry.objects.filter(showtime_id=showtime_id, user_id=user.pk).first()
    if found is not None and found.position is not None:
        return found
    _state(showtime_id)

    def txn() -> QueueEntry:
        at = now or timezone.now()
        state = lock_queue_state(showtime_id)
        assert state is not None  # made above, deleted only with the showtime
        _shuffle_if_due(state, showtime, at)
        entry = QueueEntry.objects.filter(showtime_id=showtime_id, user_id=user.pk).first()
        if entry is None:
            entry = QueueEntry(showtime_id=showtime_id, user_id=user.pk, joined_at=at)
            if state.shuffled:
                entry.position = state.next_position
                state.next_position += 1
                state.save(update_fields=["next_position"])
            entry.save()
        return entry

    return run_in_transaction(txn)


# --- The admitter -------------------------------------------------------------------------------


def _finish_done(showtime: Showtime, now: datetime) -> int:
    """Mark the admitted buyers who stopped being active; return how many.

    ``paid``: an order of theirs for the showtime made since admission is paid. ``lapsed``: they
    made a hold or an order since admission and have neither a live hold nor a live pending order
    now (released, expired, abandoned, cancelled). ``window``: no hold or order since admission
    and ``admission_window_seconds`` have passed.
    """
    order_model = apps.get_model("orders", "Order")
    mine = {"showtime_id": showtime.pk, "user_id": OuterRef("user_id")}
    since = {**mine, "created_at__gte": OuterRef("admitted_at")}
    paid = order_model.objects.filter(**since, status__in=["paid", "refunded"])
    made = Q(Exists(Hold.objects.filter(**since))) | Q(Exists(order_model.objects.filter(**since)))
    live = Q(
        Exists(Hold.objects.filter(**mine, status=Hold.Status.ACTIVE, expires_at__gt=now))
    ) | Q(Exists(order_model.objects.filter(**mine, status="pending", expires_at__gt=now)))
    active = QueueEntry.objects.filter(
        showtime_id=showtime.pk, admitted_at__isnull=False, finished_at__isnull=True
    )
    done = active.filter(Exists(paid)).update(finished_at=now, finish_reason=QueueEntry.Finish.PAID)
    done += (
        active.filter(made)
        .exclude(live)
        .update(finished_at=now, finish_reason=QueueEntry.Finish.LAPSED)
    )
    window = timedelta(seconds=showtime.admission_window_seconds)
    done += (
        active.exclude(made)
        .exclude(live)
        .filter(admitted_at__lte=now - window)
        .update(finished_at=now, finish_reason=QueueEntry.Finish.WINDOW)
    )
    return done


def _refill(state: QueueState, rate_per_minute: int, now: datetime) -> None:
    """The token bucket of the rate cap: ``rate/60`` tokens a second, holding at most one
    second's worth (at least 1), full at the start."""
    capacity = max(1.0, rate_per_minute / 60)
    if state.tokens_at is None:
        state.tokens = capacity
    else:
        elapsed = max(0.0, (now - state.tokens_at).total_seconds())
        state.tokens = min(capacity, state.tokens + elapsed * rate_per_minute / 60)
    state.tokens_at = now


def pass_expiry(showtime: Showtime, admitted_at: datetime) -> datetime:
    """When a pass given at ``admitted_at`` ends: the admission window for a first hold, then the
    longest that hold may last (``max_hold_seconds``, at least ``hold_ttl``)."""
    hold = max(showtime.hold_ttl, showtime.max_hold_seconds)
    return admitted_at + timedelta(seconds=showtime.admission_window_seconds + hold)


def queue_admit(showtime_id: int, now: datetime | None = None) -> AdmitResult:
    """One step of the admitter of a showtime (run every second: docs/waiting-room.md).

    Under the state row's lock, skipped (``skipped``, nothing done) when another process holds
    it: shuffle the early pool if due, finish the buyers who stopped being active
    (:func:`_finish_done`), then admit the next places in order while the active buyers are
    fewer than ``target_active_buyers`` and the token bucket (``admission_rate_per_minute``)
    allows. Nothing is admitted while paused; with the queue off nothing is done (``skipped``).
    """
    if not Showtime.objects.filter(pk=showtime_id, queue_enabled=True).exists():
        return AdmitResult(skipped=True)
    _state(showtime_id)

    def txn() -> AdmitResult:
        at = now or timezone.now()
        state = lock_queue_state(showtime_id, skip_locked=True)
        if state is None:
            return AdmitResult(skipped=True)
        showtime = Showtime.objects.get(pk=showtime_id)
        _shuffle_if_due(state, showtime, at)
        finished = _finish_done(showtime, at)
        active = active_count(showtime_id)
        rate = showtime.admission_rate_per_minute
        _refill(state, rate, at)
        room = max(0, showtime.target_active_buyers - active)
        n = 0 if state.paused else min(room, math.floor(state.tokens + 1e-9))
        chosen = list(
            QueueEntry.objects.filter(
                showtime_id=showtime_id,
                position__isnull=False,
                admitted_at__isnull=True,
                finished_at__isnull=True,
            )
            .order_by("position")
            .values_list("pk", "position")[:n]
        )
        if chosen:
            QueueEntry.objects.filter(pk__in=[pk for pk, _p in chosen]).update(
                admitted_at=at, pass_expires_at=pass_expiry(showtime, at)
            )
            state.tokens -= len(chosen)
            state.admitted_up_to = max(state.admitted_up_to, *(p or 0 for _pk, p in chosen))
        state.save(update_fields=["tokens", "tokens_at", "admitted_up_to"])
        waiting = QueueEntry.objects.filter(
            showtime_id=showtime_id, admitted_at__isnull=True, finished_at__isnull=True
        ).exists()
        return AdmitResult(
            admitted=[pk for pk, _p in chosen],
            admitted_up_to=state.admitted_up_to,
            active=active + len(chosen),
            rate=rate,
            finished=finished,
            target=showtime.target_active_buyers,
            paused=state.paused,
            shuffled=state.shuffled,
            waiting=waiting,
        )

    return run_in_transaction(txn)


def queued_showtime_ids() -> list[int]:
    """The showtimes whose waiting room is on (the admitter loop's work)."""
    return list(Showtime.objects.filter(queue_enabled=True).values_list("pk", flat=True))


# --- The progress broadcast ---------------------------------------------------------------------

# While people wait, a ``queue.progress`` frame goes out at least this often even when nothing
# changed (a client that missed one, or just connected, is current within it).
PROGRESS_HEARTBEAT_SECONDS = 5.0
# Per process: the last progress announced per showtime and when (``time.monotonic``).
_last_progress: dict[int, tuple[dict[str, Any], float]] = {}


def progress_of(result: AdmitResult) -> dict[str, Any]:
    """The body of a ``queue.progress`` frame (docs/realtime.md) from an admitter step:
    ``{"admitted_up_to", "rate_per_minute", "active", "target", "paused", "shuffled"}``."""
    return {
        "admitted_up_to": result.admitted_up_to,
        "rate_per_minute": result.rate,
        "active": result.active,
        "target": result.target,
        "paused": result.paused,
        "shuffled": result.shuffled,
    }


def queue_progress_now(showtime_id: int) -> dict[str, Any] | None:
    """The figures of a ``queue.progress`` frame as they stand (what the queue socket sends on
    connect and on ``resync``: docs/realtime.md "The queue socket"), or ``None`` when the
    showtime has no waiting room. Reads; locks nothing."""
    showtime = Showtime.objects.filter(pk=showtime_id, queue_enabled=True).first()
    if showtime is None:
        return None
    state = QueueState.objects.filter(pk=showtime_id).first() or QueueState(showtime=showtime)
    return progress_of(
        AdmitResult(
            admitted_up_to=state.admitted_up_to,
            active=active_count(showtime_id),
            rate=showtime.admission_rate_per_minute,
            target=showtime.target_active_buyers,
            paused=state.paused,
            shuffled=state.shuffled,
        )
    )


def queue_tick(showtime_id: int, now: datetime | None = None) -> AdmitResult:
    """One admitter step (:func:`queue_admit`) and its broadcast: one ``queue.progress`` frame
    to everyone watching the showtime (``core.events.queue_progress``) when the step changed
    something (admitted, finished, or the figures differ from the last frame this process
    sent: pause, resume, a new target or rate), and at least every
    :data:`PROGRESS_HEARTBEAT_SECONDS` while someone waits. A skipped step (another process
    holds the queue, or the queue is off) sends nothing: one frame per tick, whatever the queue's
    length and the number of processes."""
    result = queue_admit(showtime_id, now)
    if result.skipped:
        return result
    progress = progress_of(result)
    last = _last_progress.get(showtime_id)
    clock = time.monotonic()
    due = result.waiting and (last is None or clock - last[1] >= PROGRESS_HEARTBEAT_SECONDS)
    if result.admitted or result.finished or last is None or last[0] != progress or due:
        _last_progress[showtime_id] = (progress, clock)
        events.queue_progress(showtime_id, progress)
    return result


def queue_tick_all() -> tuple[int, int]:
    """:func:`queue_tick` for every showtime whose queue is on (the admitter's round: the
    ``admit`` command, or the server processes' loop). Returns (admitted, finished). One
    showtime's failure is logged and does not stop the others."""
    admitted = finished = 0
    for showtime_id in queued_showtime_ids():
        try:
            result = queue_tick(showtime_id)
        except Exception:
            logger.exception("admission of showtime %s failed", showtime_id)
            continue
        admitted += len(result.admitted)
        finished += result.finished
    return admitted, finished


# --- The pass -----------------------------------------------------------------------------------


def queue_pass_make(entry: QueueEntry) -> str:
    """The pass of an admitted entry: ``{user, showtime, expiry}`` signed with the project's
    secret key under a salt of its own (``django.core.signing``)."""
    assert entry.pass_expires_at is not None
    expiry = int(entry.pass_expires_at.timestamp())
    return signing.dumps({"u": entry.user_id, "s": entry.showtime_id, "e": expiry}, salt=PASS_SALT)


def queue_pass_check(token: str, user: User, showtime_id: int, now: datetime | None = None) -> None:
    """Check a pass for ``user`` and the showtime at ``now``.

    Raises:
        QueuePassInvalid: ``tampered`` (bad signature or shape), ``other_user``,
            ``other_showtime``, ``expired``.
    """
    now = now or timezone.now()
    try:
        data = signing.loads(token, salt=PASS_SALT)
        user_id, pass_showtime, expiry = int(data["u"]), int(data["s"]), int(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise QueuePassInvalid("tampered") from exc
    if user_id != user.pk:
        raise QueuePassInvalid("other_user")
    if pass_showtime != int(showtime_id):
        raise QueuePassInvalid("other_showtime")
    if now.timestamp() >= expiry:
        raise QueuePassInvalid("expired")


def queue_gate(showtime: Showtime, user: User, token: str | None) -> None:
    """Let a write that takes seats through, or refuse it: with the queue off always through;
    with it on only with a valid pass (:func:`queue_pass_check`) of a buyer still active.

    Raises:
        ApplicationError: 403 ``queue_required`` with ``details`` ``{"position",
            "admitted_up_to"}`` (the buyer's place, ``null`` when not queued or in the early pool).
    """
    if not showtime.queue_enabled:
        return
    entry = QueueEntry.objects.filter(showtime_id=showtime.pk, user_id=user.pk).first()
    try:
        if not token:
            raise QueuePassInvalid("missing")
        queue_pass_check(token, user, showtime.pk)
        if entry is None or entry.admitted_at is None or entry.finished_at is not None:
            raise QueuePassInvalid("not_active")
    except QueuePassInvalid as exc:
        state = QueueState.objects.filter(pk=showtime.pk).first()
        raise ApplicationError(
            "queue_required",
            _("This on-sale has a waiting room: join the queue and wait for your turn."),
            status=403,
            details={
                "position": entry.position if entry else None,
                "admitted_up_to": state.admitted_up_to if state else 0,
                "reason": exc.reason,
            },
        ) from exc


# --- Staff --------------------------------------------------------------------------------------


def _set_paused(showtime_id: int, paused: bool) -> None:
    queued_showtime(showtime_id)
    _state(showtime_id)
    QueueState.objects.filter(pk=showtime_id).update(paused=paused)


def queue_pause(showtime_id: int) -> None:
    """Stop admitting (the admitted stay admitted)."""
    _set_paused(showtime_id, True)


def queue_resume(showtime_id: int) -> None:
    """Admit again."""
    _set_paused(showtime_id, False)


def queue_configure(
    showtime_id: int, *, target: int | None = None, rate_per_minute: int | None = None
) -> Showtime:
    """Change the target of active buyers and/or the admission rate.

    Raises:
        ApplicationError: 404 ``not_found``; 400 ``validation_error`` (a value below 1).
    """
    showtime = queued_showtime(showtime_id)
    if target is not None:
        showtime.target_active_buyers = target
    if rate_per_minute is not None:
        showtime.admission_rate_per_minute = rate_per_minute
    try:
        showtime.full_clean()
    except ValidationError as exc:
        raise ApplicationError(
            "validation_error", _("Invalid showtime."), details=exc.message_dict, status=400
        ) from exc
    showtime.save(update_fields=["target_active_buyers", "admission_rate_per_minute"])
    return showtime


def queue_admit_user(showtime_id: int, user: User, now: datetime | None = None) -> QueueEntry:
    """Admit a named buyer now, out of turn and whatever the target (staff). A buyer not in the
    queue is added without a place; ``admitted_up_to`` does not move."""
    showtime = queued_showtime(showtime_id)
    at = now or timezone.now()
    entry, _created = QueueEntry.objects.get_or_create(
        showtime_id=showtime_id, user_id=user.pk, defaults={"joined_at": at}
    )
    entry.admitted_at, entry.pass_expires_at = at, pass_expiry(showtime, at)
    entry.finished_at, entry.finish_reason = None, ""
    entry.save(update_fields=["admitted_at", "pass_expires_at", "finished_at", "finish_reason"])
    return entry
