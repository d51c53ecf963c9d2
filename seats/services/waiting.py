"""The waiting room of an on-sale (issue #19, docs/waiting-room.md): joining, the shuffle of the
early pool, the admitter step, the pass and its check, the staff actions.

Everything lives in the database (:class:`~seats.models.QueueState`, one row per showtime, and
:class:`~seats.models.QueueEntry`, one per buyer and showtime), so a restart loses no place and
several server processes share one queue. A join is one insert and takes no lock; places are
handed out by the admitter alone (the draw of the early pool at the on-sale, then arrival order),
under the state row's lock (``seats.locks.lock_queue_state``) with ``SKIP LOCKED``: a second
admitter skips a row another process holds, so two admitters never both act, and no join ever
waits for one.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import MutableSequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core import events
from core.errors import ApplicationError

from ..locks import lock_queue_state, run_in_transaction
from ..models import Hold, QueueEntry, QueueState, Showtime
from ..rawsql import update_each

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
    admitting: int = 0  # admissions a minute as they go (Flow.admitting)
    finished: int = 0
    skipped: bool = False
    target: int = 0
    paused: bool = False
    shuffled: bool = False  # the early pool has its places (onsale_at came)
    placed: int = 0  # joiners who got their place in this step
    broadcast: bool = False  # this step's figures go out in a queue.progress frame
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


# Admissions are counted over this many seconds for the rate as it goes (``admitting``).
ADMITTING_WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class Flow:
    """The admitted buyers of a showtime at a moment, from one aggregate (:func:`flow`)."""

    active: int  # admitted, not finished
    recent: int  # admitted within the last ADMITTING_WINDOW
    first: datetime | None  # the first admission, if any

    def admitting(self, cap: int, target: int, now: datetime, more: int = 0) -> int:
        """Admissions a minute as they go now (``admitting_per_minute``), counting ``more`` just
        admitted. While the active buyers are fewer than the ``target``, the ``cap``: the token
        bucket alone paces admission (however few came to be admitted lately). At the target,
        the pace at which buyers finish and free a place: the admissions of the last minute,
        never above the cap, 0 when nobody finished for a minute (or while paused); the cap
        itself until admission has run a minute (fewer admissions then say nothing of the
        pace)."""
        if self.active + more < target:
            return cap
        if self.first is None or now - self.first < ADMITTING_WINDOW:
            return cap
        return min(cap, self.recent + more)


def flow(showtime_id: int, now: datetime) -> Flow:
    """:class:`Flow` of the showtime at ``now``: one query."""
    counts = QueueEntry.objects.filter(
        showtime_id=showtime_id, admitted_at__isnull=False
    ).aggregate(
        active=Count("pk", filter=Q(finished_at__isnull=True)),
        recent=Count("pk", filter=Q(admitted_at__gt=now - ADMITTING_WINDOW)),
        first=Min("admitted_at"),
    )
    return Flow(counts["active"], counts["recent"], counts["first"])


def wait_seconds(ahead: int, per_minute: int) -> int:
    """Seconds until ``ahead`` more buyers are admitted at ``per_minute`` (at least 1 a minute,
    so a stalled queue reads as a long wait, not a division by zero)."""
    return math.ceil(ahead * 60 / max(1, per_minute))


def entry_state(entry: QueueEntry, now: datetime | None = None) -> str:
    """``early`` (no place yet: arrived before the on-sale's draw, or within the last second),
    ``waiting``, ``admitted`` or ``finished`` at ``now``: an
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
    now_flow = flow(showtime.pk, now)
    admitting = now_flow.admitting(rate, showtime.target_active_buyers, now)
    kind = entry_state(entry, now)
    wait: int | None = 0
    if kind == "early":
        wait = None
    elif kind == "waiting":
        assert entry.position is not None
        wait = wait_seconds(max(0, entry.position - state.admitted_up_to), admitting)
    admitted = kind == "admitted" and entry.pass_expires_at is not None
    return {
        "position": entry.position,
        "admitted_up_to": state.admitted_up_to,
        "state": kind,
        "active": now_flow.active,
        "target": showtime.target_active_buyers,
        "rate_per_minute": rate,
        "admitting_per_minute": admitting,
        "paused": state.paused,
        "shuffled": state.shuffled,
        "estimated_wait_seconds": wait,
        "pass": queue_pass_make(entry) if admitted else None,
        "pass_expires_at": entry.pass_expires_at if admitted else None,
    }


# --- Joining and the shuffle --------------------------------------------------------------------


def shuffle_places(entries: MutableSequence[Any], rng: Random | None = None) -> None:
    """Shuffle ``entries`` in place: Fisher–Yates with ``rng``, by default a new
    ``secrets.SystemRandom()`` (the operating system's CSPRNG: nobody can predict or replay it)."""
    (rng or secrets.SystemRandom()).shuffle(entries)


def _early_pool(showtime: Showtime) -> Q:
    """The entries that arrived before ``onsale_at`` (none without one): drawn at random."""
    if showtime.onsale_at is None:
        return Q(pk__in=[])
    return Q(joined_at__lt=showtime.onsale_at)


def _place(state: QueueState, entry_ids: list[int]) -> int:
    """Give the entries ``entry_ids`` the places ``next_position`` onwards in their list order;
    return how many. The caller holds the state row's lock (the admitter)."""
    first = state.next_position
    update_each(QueueEntry, "position", {pk: first + i for i, pk in enumerate(entry_ids)})
    state.next_position += len(entry_ids)
    return len(entry_ids)


def _unplaced(showtime: Showtime) -> QuerySet[QueueEntry]:
    return QueueEntry.objects.filter(
        showtime_id=showtime.pk, position__isnull=True, admitted_at__isnull=True
    )


def _place_joiners(state: QueueState, showtime: Showtime, now: datetime) -> int:
    """The admitter's numbering (docs/waiting-room.md "Places"); return how many got a place.

    Once, at or after ``onsale_at``: the early pool (arrivals before ``onsale_at``) in a random
    order (:func:`shuffle_places`), places ``next_position`` onwards. From then on, at every
    step: everyone who joined since, in order of arrival (``joined_at``, then id). Before
    ``onsale_at`` nobody gets a place. The caller holds the state row's lock, so places are
    handed out by one process at a time and never twice.
    """
    placed = 0
    if not state.shuffled:
        if showtime.onsale_at is not None and now < showtime.onsale_at:
            return 0
        pool = list(_unplaced(showtime).filter(_early_pool(showtime)).values_list("pk", flat=True))
        shuffle_places(pool)
        placed += _place(state, pool)
        state.shuffled = True
    arrivals = _unplaced(showtime).order_by("joined_at", "pk").values_list("pk", flat=True)
    placed += _place(state, list(arrivals))
    if placed or not state.shuffled:
        state.save(update_fields=["next_position", "shuffled"])
    return placed


def queue_join(user: User, showtime_id: int, now: datetime | None = None) -> QueueEntry:
    """Put ``user`` in the waiting room of the showtime once, and return their entry.

    Joining again (a second tab, a reconnect) returns the same entry: the place is kept. A new
    entry has no place yet (``position`` null): the admitter's next step gives it one
    (:func:`_place_joiners`: within a second with the loop), by a draw for the arrivals before
    ``onsale_at``, in order of arrival after. A join takes no lock: one insert (the unique
    constraint keeps one entry per buyer), so joins of one showtime run side by side.

    Raises:
        ApplicationError: 404 ``not_found`` when the showtime has no waiting room.
    """
    queued_showtime(showtime_id)
    entry, _created = QueueEntry.objects.get_or_create(
        showtime_id=showtime_id, user_id=user.pk, defaults={"joined_at": now or timezone.now()}
    )
    return entry


# --- The admitter -------------------------------------------------------------------------------


def _finish_done(showtime: Showtime, now: datetime, live_clock: bool = True) -> int:
    """Mark the admitted buyers who stopped being active; return how many. With ``live_clock``
    ``finished_at`` is the time of each update (``now`` if later): never before the order or
    hold that ended the turn, which may have committed after the step began; without (a step at
    a given time: tests, replays) it is ``now``.

    ``paid``: an order of theirs for the showtime made since admission is paid (or refunded).
    ``lapsed``: no live hold nor live pending order now, and a hold of theirs since admission
    expired or was released as abandoned (they left the seat map), or an order expired or was
    cancelled: they let it lapse or gave up. ``window``: no live hold nor order, and
    ``admission_window_seconds`` have passed since admission and since the end of their last
    hold (a buyer who releases their seats to choose others, or makes no hold at all, has the
    window to hold again).
    """
    order_model = apps.get_model("orders", "Order")
    mine = {"showtime_id": showtime.pk, "user_id": OuterRef("user_id")}
    since = {**mine, "created_at__gte": OuterRef("admitted_at")}
    paid = order_model.objects.filter(**since, status__in=["paid", "refunded"])
    live = Q(
        Exists(Hold.objects.filter(**mine, status=Hold.Status.ACTIVE, expires_at__gt=now))
    ) | Q(Exists(order_model.objects.filter(**mine, status="pending", expires_at__gt=now)))
    gone_hold = (
        Q(status=Hold.Status.EXPIRED)
        | Q(status=Hold.Status.ACTIVE, expires_at__lte=now)  # lapsed, not recorded yet
        | Q(status=Hold.Status.RELEASED, abandoned=True)
    )
    gone_order = Q(status__in=["expired", "cancelled"]) | Q(status="pending", expires_at__lte=now)
    gone = Q(Exists(Hold.objects.filter(gone_hold, **since))) | Q(
        Exists(order_model.objects.filter(gone_order, **since))
    )
    active = QueueEntry.objects.filter(
        showtime_id=showtime.pk, admitted_at__isnull=False, finished_at__isnull=True
    )

    def stamp() -> datetime:
        return max(now, timezone.now()) if live_clock else now

    done = active.filter(Exists(paid)).update(
        finished_at=stamp(), finish_reason=QueueEntry.Finish.PAID
    )
    done += (
        active.filter(gone)
        .exclude(live)
        .update(finished_at=stamp(), finish_reason=QueueEntry.Finish.LAPSED)
    )
    window_start = now - timedelta(seconds=showtime.admission_window_seconds)
    recent_hold = Hold.objects.filter(**since, ended_at__gt=window_start)
    done += (
        active.exclude(live)
        .filter(admitted_at__lte=window_start)
        .exclude(Exists(recent_hold))
        .update(finished_at=stamp(), finish_reason=QueueEntry.Finish.WINDOW)
    )
    return done


# The token bucket holds this many seconds' worth of admissions: a step that comes late (the
# loop's round took longer, another process's step was skipped) loses none of the cap.
BUCKET_SECONDS = 2.0


def _refill(state: QueueState, rate_per_minute: int, now: datetime) -> None:
    """The token bucket of the rate cap: ``rate/60`` tokens a second, holding at most
    :data:`BUCKET_SECONDS`' worth (at least 1), one second's worth at the start. Over any
    interval of ``t`` seconds at most ``rate × t / 60`` plus the bucket are admitted; bench/README.md
    "Issue #19" measured 550 a minute against a cap of 600 with a bucket of one second's worth
    and steps 1.065 s apart."""
    capacity = max(1.0, BUCKET_SECONDS * rate_per_minute / 60)
    if state.tokens_at is None:
        state.tokens = max(1.0, rate_per_minute / 60)
    else:
        elapsed = max(0.0, (now - state.tokens_at).total_seconds())
        state.tokens = min(capacity, state.tokens + elapsed * rate_per_minute / 60)
    state.tokens_at = now


def pass_expiry(showtime: Showtime, admitted_at: datetime) -> datetime:
    """When a pass given at ``admitted_at`` ends: the admission window for a first hold, then the
    longest that hold may last (``max_hold_seconds``, at least ``hold_ttl``)."""
    hold = max(showtime.hold_ttl, showtime.max_hold_seconds)
    return admitted_at + timedelta(seconds=showtime.admission_window_seconds + hold)


def queue_admit(showtime_id: int, now: datetime | None = None, min_gap: float = 0.0) -> AdmitResult:
    """One step of the admitter of a showtime (run every second: docs/waiting-room.md).

    ``min_gap`` (seconds): skip the step (``skipped``) when another step, of any process, ran
    less than that long ago (``QueueState.stepped_at``): the admitter loops of several server
    processes then keep one pace between them, one step per interval, not one per process.

    Under the state row's lock, skipped (``skipped``, nothing done) when another process holds
    it: give the joiners their places (:func:`_place_joiners`: the draw of the early pool when
    due, then arrival order), finish the buyers who stopped being active
    (:func:`_finish_done`), then admit the next places in order while the active buyers are
    fewer than ``target_active_buyers`` and the token bucket (``admission_rate_per_minute``)
    allows; then decide whether the step's figures go out (``broadcast``: someone was admitted,
    finished or placed, the figures differ from the last frame's (pause, resume, a new target
    or rate, the draw), or someone waits and the last frame is
    :data:`PROGRESS_HEARTBEAT_SECONDS` old) and record them as the last frame's. Nothing is
    admitted while paused; with the queue off nothing is done (``skipped``).
    """
    if not Showtime.objects.filter(pk=showtime_id, queue_enabled=True).exists():
        return AdmitResult(skipped=True)
    _state(showtime_id)

    def txn() -> AdmitResult:
        at = now or timezone.now()
        state = lock_queue_state(showtime_id, skip_locked=True)
        if state is None:
            return AdmitResult(skipped=True)
        if (
            min_gap > 0
            and state.stepped_at is not None
            and (at - state.stepped_at).total_seconds() < min_gap
        ):
            return AdmitResult(skipped=True)  # another process's loop stepped just now
        state.stepped_at = at
        showtime = Showtime.objects.get(pk=showtime_id)
        placed = _place_joiners(state, showtime, at)
        finished = _finish_done(showtime, at, live_clock=now is None)
        # the admissions' time: after every finish just stamped, so the entries' own times never
        # show more active buyers than the target (a place is freed before it is given again)
        admit_at = at if now is not None else max(at, timezone.now())
        before = flow(showtime_id, at)
        active = before.active
        rate = showtime.admission_rate_per_minute
        # the bucket runs on the admissions' own time, so the entries' stamps never show more
        # admitted over an interval than the cap allows (a step's finishes can take a few ms)
        _refill(state, rate, admit_at)
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
                admitted_at=admit_at, pass_expires_at=pass_expiry(showtime, admit_at)
            )
            state.tokens -= len(chosen)
            state.admitted_up_to = max(state.admitted_up_to, *(p or 0 for _pk, p in chosen))
        waiting = QueueEntry.objects.filter(
            showtime_id=showtime_id, admitted_at__isnull=True, finished_at__isnull=True
        ).exists()
        result = AdmitResult(
            admitted=[pk for pk, _p in chosen],
            admitted_up_to=state.admitted_up_to,
            active=active + len(chosen),
            rate=rate,
            admitting=before.admitting(rate, showtime.target_active_buyers, at, more=len(chosen)),
            finished=finished,
            target=showtime.target_active_buyers,
            paused=state.paused,
            shuffled=state.shuffled,
            placed=placed,
            waiting=waiting,
        )
        progress = progress_of(result)
        heartbeat = waiting and (
            state.progress_at is None
            or (at - state.progress_at).total_seconds() >= PROGRESS_HEARTBEAT_SECONDS
        )
        result.broadcast = bool(
            chosen or finished or placed or heartbeat or state.progress != progress
        )
        if result.broadcast:
            state.progress, state.progress_at = progress, at
        state.save(
            update_fields=[
                "tokens",
                "tokens_at",
                "admitted_up_to",
                "progress",
                "progress_at",
                "stepped_at",
            ]
        )
        return result

    return run_in_transaction(txn)


def queued_showtime_ids() -> list[int]:
    """The showtimes whose waiting room is on (the admitter loop's work)."""
    return list(Showtime.objects.filter(queue_enabled=True).values_list("pk", flat=True))


# --- The progress broadcast ---------------------------------------------------------------------

# While people wait, a ``queue.progress`` frame goes out at least this often even when nothing
# changed (a client that missed one, or just connected, is current within it).
PROGRESS_HEARTBEAT_SECONDS = 5.0


def progress_of(result: AdmitResult) -> dict[str, Any]:
    """The body of a ``queue.progress`` frame (docs/realtime.md) from an admitter step:
    ``{"admitted_up_to", "rate_per_minute", "admitting_per_minute", "active", "target",
    "paused", "shuffled"}``."""
    return {
        "admitted_up_to": result.admitted_up_to,
        "rate_per_minute": result.rate,
        "admitting_per_minute": result.admitting,
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
    now = timezone.now()
    now_flow = flow(showtime_id, now)
    return progress_of(
        AdmitResult(
            admitted_up_to=state.admitted_up_to,
            active=now_flow.active,
            rate=showtime.admission_rate_per_minute,
            admitting=now_flow.admitting(
                showtime.admission_rate_per_minute, showtime.target_active_buyers, now
            ),
            target=showtime.target_active_buyers,
            paused=state.paused,
            shuffled=state.shuffled,
        )
    )


def queue_tick(showtime_id: int, now: datetime | None = None, min_gap: float = 0.0) -> AdmitResult:
    """One admitter step (:func:`queue_admit`) and its broadcast: one ``queue.progress`` frame
    to everyone in the showtime's waiting room (``core.events.queue_progress``) when the step
    decided so (``broadcast``: it changed something, or the heartbeat was due). The decision is
    taken under the state row's lock against the last frame any process sent (stored in the
    row), so a step sends at most one frame and a skipped step none: one frame per tick,
    whatever the queue's length and the number of processes."""
    result = queue_admit(showtime_id, now, min_gap)
    if result.broadcast:
        events.queue_progress(showtime_id, progress_of(result))
    return result


def queue_tick_all(interval: float = 0.0) -> tuple[int, int]:
    """:func:`queue_tick` for every showtime whose queue is on (the admitter's round: the
    ``admit`` command, or the server processes' loop). Returns (admitted, finished). One
    showtime's failure is logged and does not stop the others.

    ``interval`` (seconds): the pace of the caller's loop; a showtime stepped by any process
    within the last ``0.9 × interval`` is skipped (``queue_admit``'s ``min_gap``), so loops in
    several processes make about one step per interval between them."""
    admitted = finished = 0
    for showtime_id in queued_showtime_ids():
        try:
            result = queue_tick(showtime_id, min_gap=0.9 * interval)
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


# --- Figures ------------------------------------------------------------------------------------

# The states of an entry as staff count them (:func:`entry_state`'s, for querysets): in line
# (queued, not admitted, not finished: the early pool included) and active (admitted, not
# finished). The admin's showtime list counts with them too.
IN_LINE = Q(admitted_at__isnull=True, finished_at__isnull=True)
ACTIVE = Q(admitted_at__isnull=False, finished_at__isnull=True)


def queue_figures(showtime: Showtime, now: datetime | None = None) -> dict[str, Any]:
    """The waiting room of ``showtime`` in figures, for staff (the admin, the sales overview,
    ``/metrics``): two queries, the entries counted by state in one aggregate and the state row.

    ``{"waiting", "early", "admitted_total", "active", "finished", "target", "rate_per_minute",
    "admitting_per_minute", "paused", "admitted_up_to", "estimated_clear_seconds"}`` at ``now``;
    counts are of buyers (entries):

    - ``waiting``: queued, not admitted, not finished (the queue's length, the early pool
      included); ``early``: those of them without a place yet (the pool before the on-sale,
      and joiners the admitter has not numbered yet: within a second);
    - ``admitted_total``: ever admitted (by the admitter or by staff), finished or not;
      ``active``: admitted and not finished; ``finished``: their turn ended (paid, lapsed, window);
    - ``target`` (active buyers at most) and ``rate_per_minute`` (admissions a minute at most):
      the showtime's settings; ``admitting_per_minute``: admissions a minute as they go
      (:meth:`Flow.admitting`); ``paused`` and ``admitted_up_to`` (the highest place admitted by
      the admitter): the state row's (``False`` and 0 before the first join);
    - ``estimated_clear_seconds``: seconds until everyone waiting is admitted,
      ``⌈waiting × 60 / admitting_per_minute⌉`` (0 with nobody waiting): at the pace of the last
      minute, which the target holds below the cap when buyers finish slower
      (:meth:`Flow.admitting`; the cap during admission's first minute); a pause reads as a
      long wait.
    """
    now = now or timezone.now()
    counts = QueueEntry.objects.filter(showtime_id=showtime.pk).aggregate(
        waiting=Count("pk", filter=IN_LINE),
        early=Count("pk", filter=IN_LINE & Q(position__isnull=True)),
        admitted_total=Count("pk", filter=Q(admitted_at__isnull=False)),
        active=Count("pk", filter=ACTIVE),
        finished=Count("pk", filter=Q(finished_at__isnull=False)),
        recent=Count("pk", filter=Q(admitted_at__gt=now - ADMITTING_WINDOW)),
        first=Min("admitted_at"),
    )
    state = QueueState.objects.filter(pk=showtime.pk).values("paused", "admitted_up_to").first()
    rate = showtime.admission_rate_per_minute
    admitting = Flow(counts["active"], counts.pop("recent"), counts.pop("first")).admitting(
        rate, showtime.target_active_buyers, now
    )
    waiting = counts["waiting"]
    return {
        **counts,
        "target": showtime.target_active_buyers,
        "rate_per_minute": rate,
        "admitting_per_minute": admitting,
        "paused": bool(state and state["paused"]),
        "admitted_up_to": state["admitted_up_to"] if state else 0,
        "estimated_clear_seconds": wait_seconds(waiting, admitting) if waiting else 0,
    }
