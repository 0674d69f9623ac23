"""Files in flight with "auto": they double while each file arrives as fast as before, and
hold once the files start to share a limit; a number stays as it is."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from cliquify_async._files.flight import START, FileFlight, Slot
from cliquify_async.errors import ConfigurationError


class Host:
    """Files arriving in virtual time: each at `per_file` bytes/s, all together at most
    `total` bytes/s."""

    def __init__(self, per_file: float, total: float) -> None:
        self.per_file, self.total = per_file, total
        self.now = 0.0

    def clock(self) -> float:
        return self.now


async def drive(
    flight: FileFlight, host: Host, seconds: float, step: float = 0.01, first_byte: float = 0.0
) -> list[int]:
    """Keep every slot of `flight` busy for `seconds` of virtual time, feeding each file its
    share of what the host sends once `first_byte` seconds have passed since it began; the
    flight's limit at each step."""
    held: list[tuple[Slot, float]] = []
    limits = []

    async def fill() -> None:
        while len(held) < flight.limit:
            slot = await contexts.enter_async_context(flight.slot())
            held.append((slot, host.now))

    async with contextlib.AsyncExitStack() as contexts:
        await fill()
        for _ in range(round(seconds / step)):
            host.now += step
            flowing = [slot for slot, began in held if host.now - began >= first_byte]
            rate = min(host.per_file * len(flowing), host.total)
            for slot in flowing:
                slot.received(int(rate * step / len(flowing)))
            await fill()
            await asyncio.sleep(0)
            limits.append(flight.limit)
    return limits


@pytest.mark.parametrize("first_byte", [0.0, 0.05, 0.2])
async def test_files_double_while_the_host_serves_each_as_fast(first_byte: float) -> None:
    host = Host(per_file=1e6, total=1e12)  # a cap per connection only
    flight = FileFlight("auto", 32, clock=host.clock)
    assert flight.limit == START

    await drive(flight, host, seconds=5, first_byte=first_byte)

    assert (flight.limit, flight.settled) == (32, True)


@pytest.mark.parametrize("total", [4e6, 6e6, 10e6])
async def test_files_stop_growing_where_they_start_to_share_a_limit(total: float) -> None:
    host = Host(per_file=1e6, total=total)
    flight = FileFlight("auto", 64, clock=host.clock)

    limits = await drive(flight, host, seconds=20)

    knee = total / host.per_file
    later = limits[len(limits) // 4 :]  # once it has found the knee
    assert sum(knee <= limit <= 2 * knee for limit in later) >= 0.8 * len(later)
    assert max(later) == 2 * min(later)  # it tries twice the files again now and then


async def test_a_number_keeps_its_meaning() -> None:
    host = Host(per_file=1e6, total=1e12)
    flight = FileFlight(5, clock=host.clock)

    await drive(flight, host, seconds=2)

    assert (flight.limit, flight.maximum, flight.settled) == (5, 5, True)


@pytest.mark.parametrize(("concurrency", "maximum"), [(0, 8), ("many", 8), (True, 8), ("auto", 0)])
def test_a_concurrency_below_one_is_refused(concurrency: object, maximum: object) -> None:
    with pytest.raises(ConfigurationError):
        FileFlight(concurrency, maximum)  # type: ignore[arg-type]
