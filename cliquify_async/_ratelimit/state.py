"""GateState: every decision of the rate gate, on state any store can keep. Pure: no I/O,
no clock of its own.

The local gate keeps one GateState in memory; the Redis gate keeps one per budget in Redis
and changes it with compare-and-set. Both call the same methods with their clock's time, so
there is one model to change and to test (tests/gate_conformance runs one table of scenarios
against both).
"""

from __future__ import annotations

import json
import math
from collections import deque
from typing import Any, Final

from attrs import define, frozen
from cattrs import Converter
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .limits import Journal, Reading, ServerLimits
from .window import FixedWindow, Refusals

CATCH_UP: Final = 0.5  # intervals a late timer is caught up on, so the pace keeps its average
PROBE_POLL: Final = 0.01  # seconds between asking whether the probe's answer came
PROBE_WAIT: Final = 10.0  # seconds the others wait for the probe's answer at most (or a window)


@frozen
class Decision:
    """The answer to one request for a permit."""

    granted: bool
    wait: float
    """Seconds to wait before asking again (0 when granted)."""
    paced: bool
    """True when the wait is the pace's own, so the send after it keeps its place on the
    pace's schedule (a late timer is caught up on); a wait for a hold is not."""


@define
class Probe:
    """After a fresh start of a shared state, the first request goes alone: its answer shows
    where the server's window stands. `sent` is None until it has gone."""

    sent: float | None = None
    until: float = 0.0


@define
class GateState:
    """The pace's schedule, the cool-down and the server's limits (None: no gate, only a
    cool-down holds a request back)."""

    limits: ServerLimits | None
    next_at: float = 0.0
    """When the pace allows the next request."""
    resume_at: float = 0.0
    """When a 429's cool-down ends."""
    born: float = 0.0
    """When this state was made: an answer to an earlier request only tells the count."""
    probe: Probe | None = None

    def restarted(self, now: float) -> GateState:
        """This state as a shared store makes it when it has none (first use, or the store
        lost it): what was sent just before is unknown, so one interval of silence keeps the
        pace, and the first request goes alone."""
        interval = 0.0 if self.limits is None else self.limits.interval
        return GateState(self.limits, next_at=now + interval, born=now, probe=Probe())

    def try_send(self, now: float, paced: bool) -> Decision:
        """A permit now, or how long to wait. The pace, a cool-down, a spent window and a
        probe in flight all hold the request; `paced` says the caller's last wait was the
        pace's own, so a timer that fired late is caught up on, by half an interval at most,
        while the end of a hold or an idle spell brings no burst."""
        if self.limits is None:
            if now >= self.resume_at:
                return Decision(True, 0.0, paced)
            return Decision(False, self.resume_at - now, False)
        hold = max(self.resume_at, self.limits.hold_until(now), self._probe_hold(now))
        due = max(hold, self.next_at)
        if due > now:
            return Decision(False, due - now, self.next_at >= hold)
        self.limits.record_send(now)
        interval = self.limits.interval
        on_schedule = max(self.next_at, now - CATCH_UP * interval)
        self.next_at = (on_schedule if paced else now) + interval
        if self.probe is not None:
            primary = self.limits.primary
            self.probe = Probe(now, now + min(primary.window + primary.guard, PROBE_WAIT))
        return Decision(True, 0.0, paced)

    def _probe_hold(self, now: float) -> float:
        """While the probe's answer is awaited, ask again in a moment; past its time, go on
        without it."""
        if self.probe is None or self.probe.sent is None:
            return now
        if now >= self.probe.until:
            self.probe = None
            return now
        return min(now + PROBE_POLL, self.probe.until)

    def observe(self, sent_at: float, received_at: float, reading: Reading) -> None:
        """Learn from the answer to the request sent at `sent_at`; any answer to the probe,
        or to a later request, ends the wait for the probe."""
        if self.probe is not None and self.probe.sent is not None and sent_at >= self.probe.sent:
            self.probe = None
        if self.limits is None:
            return
        if sent_at >= self.born:
            self.limits.observe(sent_at, received_at, reading)
        elif reading.refused is None and reading.status != 429 and reading.limit is not None:
            self.limits.hear_count(reading.limit)

    def cool_down(self, now: float, seconds: float) -> bool:
        """A 429 holds every request for `seconds`; True when that moved the end later."""
        resume_at = now + seconds
        if self.limits is not None:
            self.limits.cool_down(resume_at)
        if resume_at <= self.resume_at:
            return False
        self.resume_at = resume_at
        return True

    def attach(self, refusals: Refusals, journal: Journal) -> GateState:
        """This state, logging through this process's `refusals` and `journal`."""
        if self.limits is not None:
            self.limits.attach(refusals, journal)
        return self


def _converter() -> Converter:
    """JSON-ready dicts of a GateState and back; what belongs to a process (its refusals
    and journal) is left out and given back by `attach`."""
    converter = Converter()
    converter.register_unstructure_hook(deque, list)
    converter.register_unstructure_hook_func(lambda cls: cls == set[int], sorted)
    converter.register_structure_hook_func(
        lambda cls: cls == deque[float], lambda value, _: deque(map(float, value))
    )
    omit = override(omit=True)
    converter.register_unstructure_hook(
        FixedWindow, make_dict_unstructure_fn(FixedWindow, converter, refusals=omit)
    )
    converter.register_structure_hook(
        FixedWindow, make_dict_structure_fn(FixedWindow, converter, refusals=omit)
    )
    converter.register_unstructure_hook(
        ServerLimits,
        make_dict_unstructure_fn(ServerLimits, converter, refusals=omit, journal=omit),
    )
    converter.register_structure_hook(
        ServerLimits, make_dict_structure_fn(ServerLimits, converter, refusals=omit, journal=omit)
    )
    # JSON object keys are strings: the stacked limits are keyed by their count.
    tiers = dict[int, FixedWindow]
    converter.register_unstructure_hook_func(
        lambda cls: cls == tiers,
        lambda value: {str(count): converter.unstructure(tier) for count, tier in value.items()},
    )
    converter.register_structure_hook_func(
        lambda cls: cls == tiers,
        lambda value, _: {int(k): converter.structure(v, FixedWindow) for k, v in value.items()},
    )
    return converter


_CONVERTER: Final = _converter()


def dumps(state: GateState) -> str:
    """The state as compact JSON (floats round-trip exactly)."""
    return json.dumps(_CONVERTER.unstructure(state), separators=(",", ":"))


def loads(text: str | bytes) -> GateState:
    """A state from `dumps`; ValueError (or a cattrs error) for anything else."""
    raw: Any = json.loads(text)
    state = _CONVERTER.structure(raw, GateState)
    if state.limits is not None and not all(
        math.isfinite(tier.window) and tier.limit >= 1 for tier in state.limits.tiers
    ):
        raise ValueError("a rate limit in the stored state is out of range")
    return state
