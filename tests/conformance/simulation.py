"""A rate-gate scenario played in virtual time: a Laravel throttle (the sandbox's own) in
front of one client, answers after a latency, 429s cooled down and retried, as the
transport does. One task drives everything, so a gate meets the same calls at the same
virtual times whatever its store: the local and the Redis gate can be compared send for
send."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

import attrs

from cliquify_async import RateGate, RateLimit
from cliquify_async.sandbox._throttle import FixedWindowThrottle, StackedThrottle, Verdict

START = 1000.0  # virtual seconds at the start: any positive time will do


@attrs.frozen(kw_only=True)
class Tier:
    """A limit in front of the server's main one: `limit` per `window` seconds; `bare` ones
    answer 429 with only Retry-After (a proxy), others as Laravel (their own count)."""

    limit: int
    window: float
    bare: bool = False


@attrs.frozen(kw_only=True)
class Scenario:
    """One row of the table: the server, what the client is told, and the run."""

    name: str
    limit: int
    window: float
    tiers: tuple[Tier, ...] = ()
    reset: Literal["on-429", "seconds"] = "on-429"
    latency: float = 0.01
    requests_per_minute: float
    rate_window: float | None = None
    accepted: int
    """Requests the server must accept before the run ends."""
    in_flight: int = 8
    late: float = 0.0
    """Seconds every sleep overruns (a loaded event loop's late timers)."""
    others: int = 0
    """Requests another client behind the same IP sends as each window opens."""
    outage: tuple[float, float] | None = None
    """Seconds after the start during which the API answers 503 without rate headers."""
    gates: int = 1
    """Gate objects sharing the budget, taking turns (processes of a fleet)."""


@attrs.frozen
class Send:
    at: float
    status: int


@attrs.frozen
class Run:
    """What happened: every send in order, and the limits the gate ended with."""

    sends: tuple[Send, ...]
    limits: tuple[RateLimit, ...]

    @property
    def rejected(self) -> int:
        return sum(send.status == 429 for send in self.sends)

    def use(self, limit: int, window: float) -> float:
        """The pace of the accepted requests over the server's, `limit` per `window`: the
        gaps between accepted sends, windows' edges included, against an even pace (1.0)."""
        accepted = [send.at for send in self.sends if send.status == 200]
        return (len(accepted) - 1) * window / limit / (accepted[-1] - accepted[0])


class VirtualClock:
    """Time that passes only when the driver sleeps; events due meanwhile run in order."""

    def __init__(self, late: float = 0.0) -> None:
        self._now = START
        self._late = late
        self._events: list[tuple[float, int, Callable[[], Awaitable[None]]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def at(self, moment: float, action: Callable[[], Awaitable[None]]) -> None:
        heapq.heappush(self._events, (moment, next(self._order), action))

    async def sleep(self, seconds: float) -> None:
        await self.run_until(self._now + max(seconds, 0.0) + self._late)

    async def run_until(self, moment: float) -> None:
        while self._events and self._events[0][0] <= moment:
            due, _, action = heapq.heappop(self._events)
            self._now = max(self._now, due)
            await action()
        self._now = max(self._now, moment)

    async def next_event(self) -> None:
        """Let time pass to the next event, and run it."""
        await self.run_until(self._events[0][0])


class Server:
    """The sandbox's Laravel throttle on the virtual clock, and what it answers."""

    def __init__(self, scenario: Scenario, clock: VirtualClock) -> None:
        self._scenario = scenario
        self._clock = clock
        main = FixedWindowThrottle(limit=scenario.limit, window=scenario.window, clock=clock.now)
        before = [
            FixedWindowThrottle(limit=tier.limit, window=tier.window, clock=clock.now)
            for tier in scenario.tiers
        ]
        self._bare = {tier.limit for tier in scenario.tiers if tier.bare}
        self._throttle = StackedThrottle(main, before=before)
        self._main = main
        self._others_seen: float | None = None

    def answer(self) -> tuple[int, dict[str, str]]:
        """The status and headers of a request arriving now."""
        outage = self._scenario.outage
        if outage is not None and outage[0] <= self._clock.now() - START < outage[1]:
            return 503, {}
        self._other_client()
        verdict = self._throttle.hit("ip")
        return (200 if verdict.allowed else 429), self._headers(verdict)

    def _headers(self, verdict: Verdict) -> dict[str, str]:
        headers = verdict.headers("float", reset=self._scenario.reset)
        if not verdict.allowed and verdict.limit in self._bare:
            return {"Retry-After": headers["Retry-After"]}
        return headers

    def _other_client(self) -> None:
        """Another client behind the IP spends `others` of each window of the main limit
        as the window opens (it opens one itself when ours has closed)."""
        if not self._scenario.others:
            return
        now = self._clock.now()
        if self._others_seen is not None and now < self._others_seen + self._scenario.window:
            return
        self._others_seen = now
        for _ in range(self._scenario.others):
            self._main.hit("ip")


async def play(scenario: Scenario, gates: Sequence[RateGate], clock: VirtualClock) -> Run:
    """Send until the server has accepted `scenario.accepted` requests, `in_flight` at most
    at once, taking the gates in turn; a 429 cools the gate down (as the transport does) and
    its request is sent again, as is one that met the outage."""
    server = Server(scenario, clock)
    sends: list[Send] = []
    pending = scenario.accepted
    flying = 0
    turn = itertools.cycle(gates)

    def answered(
        gate: RateGate, sent: float, status: int, headers: dict[str, str]
    ) -> Callable[[], Awaitable[None]]:
        async def deliver() -> None:
            nonlocal flying, pending
            flying -= 1
            await gate.observe(sent, status, headers)
            if status == 429:
                await gate.cool_down(float(headers["Retry-After"]))
            if status != 200:
                pending += 1

        return deliver

    while pending or flying:
        if not pending or flying >= scenario.in_flight:
            await clock.next_event()
            continue
        gate = next(turn)
        sent = await gate.acquire()
        assert sent == clock.now()  # every gate keeps the virtual clock's time
        status, headers = server.answer()
        sends.append(Send(sent, status))
        pending -= 1
        flying += 1
        clock.at(sent + scenario.latency, answered(gate, sent, status, headers))
    return Run(tuple(sends), gates[0].limits)
