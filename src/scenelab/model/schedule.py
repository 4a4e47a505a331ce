"""Next-event scheduling: per-person event times in calendar queues, so idle people cost nothing.

Four per-hour processes used to visit every person every hour with one Bernoulli draw each:
arriving at a scene (an absent person), injecting, street violence and scouting. Each is now a
*next-event* process: when a person's process (re)starts, the tick of its next event is drawn
once, by inverting the discrete survival function of the per-hour Bernoulli process, and the
person is filed in a calendar queue under that tick. A tick then touches only the people whose
event is due.

Exactness. For a Bernoulli process with per-hour probability ``b(h)``, the first event at or after
tick ``t0`` is ``T = t0 + m`` with probability ``S(m) - S(m + 1)``, ``S(m) = prod_{j<m} (1 - b_j)``:
drawing ``U`` uniform on (0, 1] and taking the first ``m`` with ``S(m + 1) < U`` gives exactly
that (:func:`geometric_tick` for constant ``b``, :func:`profile_tick` for a 24-hour profile).
Where the real probability ``a(h)`` depends on a person's state (housing, OAT, custody, being off
the scene), the schedule runs at a bound ``b(h) >= a(h)`` that no state change can raise, and a
due event is kept with probability ``a(h) / b(h)`` read at that tick (thinning). Accepted events
then happen in each hour independently with probability ``a(h)``, as with the hourly draws; no
state change needs to find and redraw a pending event.

The queue: a ring of ``HORIZON`` buckets (one per tick, modulo the ring), each a singly linked
list threaded through ``X.q_link``; ``X.q_key`` holds each person's due tick. An event further
away than the ring waits in the ring's last bucket and is filed again when that bucket comes up.
A person is in at most one bucket of a queue at a time, so filing is O(1) and needs no deletion.
"""

from __future__ import annotations

import math

from scenelab.model.jit import njit

#: Ticks in the calendar ring (hours; power of two).
HORIZON = 1024
#: The queues (rows of ``X.q_head``, ``X.q_link``, ``X.q_key``, ``X.q_seen``).
Q_ATTEND, Q_INJECT, Q_STREET, Q_SCOUT = 0, 1, 2, 3
N_QUEUES = 4
#: Due tick of an event that never happens.
NEVER = 2**62


@njit(cache=True, inline="always")
def enqueue(X, q, i, when, t) -> None:  # noqa: ANN001
    """File person ``i`` in queue ``q`` as due at tick ``when`` (now is tick ``t``)."""
    X.q_key[q, i] = when
    b = min(when, t + HORIZON - 1) % HORIZON
    X.q_link[q, i] = X.q_head[q, b]
    X.q_head[q, b] = i


@njit(cache=True, inline="always")
def take_bucket(X, q, t) -> int:  # noqa: ANN001
    """Detach and return the first person of tick ``t``'s bucket in queue ``q`` (-1: empty).

    Walk the list with ``X.q_link[q, i]``, reading the link before filing ``i`` again.
    """
    b = t % HORIZON
    head = X.q_head[q, b]
    X.q_head[q, b] = -1
    return head


@njit(cache=True, inline="always")
def geometric_tick(t0: int, p: float, u: float) -> int:
    """Return the first tick ``>= t0`` of a process with probability ``p`` each tick.

    ``P(T = t0 + m) = (1 - p)^m p``, by inversion of one uniform ``u`` in [0, 1).
    """
    if p >= 1.0:
        return t0
    if p <= 0.0:
        return NEVER
    m = math.log1p(-u) / math.log1p(-p)
    if m >= 1e15:
        return NEVER
    return t0 + int(m)


@njit(cache=True)
def profile_tick(t0: int, u: float, surv, log_day: float) -> int:  # noqa: ANN001
    """Return the first tick ``>= t0`` of a process with probability ``1 - surv[h]`` at hour ``h``.

    Args:
        t0: First tick at which the event may happen.
        u: One uniform in [0, 1).
        surv: Per hour of day, the chance of no event in that hour (24 values).
        log_day: ``sum(log(surv))``: the log-chance of a whole day without an event (``-inf``
            if some hour is certain).

    Returns:
        The event's tick (``NEVER`` if no hour has a chance).
    """
    target = 1.0 - u  # in (0, 1]: the event is the first tick at which survival drops below it
    days = 0
    if log_day == 0.0:
        return NEVER
    if log_day > -math.inf:
        # Whole days survived: survival after d days is exp(d * log_day).
        d = math.log(target) / log_day
        if d >= 1e12:
            return NEVER
        days = int(d)
        target = target / math.exp(days * log_day)
    s = 1.0
    h0 = t0 % 24
    for j in range(48):  # 24 in exact arithmetic; the second day only absorbs rounding
        s *= surv[(h0 + j) % 24]
        if s < target:
            return t0 + 24 * days + j
    return t0 + 24 * days + 47
