"""Files in flight with "auto": they double while each file arrives as fast as before, and
hold once the files start to share a limit; a number stays as it is."""

from __future__ import annotations

import asyncio

import pytest

from cliquify_async._files.flight import START, FileFlight
from cliquify_async.errors import ConfigurationError


class Host:
    """Files arriving in virtual time: each at `per_file` bytes/s, all together at most
    `total` bytes/s."""

    def __init__(self, per_file: float, total: float) -> None:
        self.per_file, self.total = per_file, total
        self.now = 0.0

    def clock(self) -> float:
        return self.now


async def drive(flight: FileFlight, host: Host, seconds: float, step: float = 0.01) -> None:
    """Keep every slot of `flight` busy for `seconds` of virtual time, feeding it what the
    host sends."""
    held: list[object] = []

    async def fill() -> None:
        while len(held) < flight.limit:
            slot = flight.slot()
            await slot.__aenter__()
            held.append(slot)

    await fill()
    for _ in range(round(seconds / step)):
        host.now += step
        rate = min(host.per_file * len(held), host.total)
        flight.received(int(rate * step))
        await fill()
        await asyncio.sleep(0)


async def test_files_double_while_the_host_serves_each_as_fast() -> None:
    host = Host(per_file=1e6, total=1e12)  # a cap per connection only
    flight = FileFlight("auto", 32, clock=host.clock)
    assert flight.limit == START

    await drive(flight, host, seconds=3)

    assert (flight.limit, flight.settled) == (32, True)


@pytest.mark.parametrize("total", [4e6, 6e6, 10e6])
async def test_files_stop_growing_where_they_start_to_share_a_limit(total: float) -> None:
    host = Host(per_file=1e6, total=total)
    flight = FileFlight("auto", 64, clock=host.clock)

    await drive(flight, host, seconds=5)

    assert flight.settled
    assert total / host.per_file <= flight.limit <= 2 * total / host.per_file


async def test_a_number_keeps_its_meaning() -> None:
    host = Host(per_file=1e6, total=1e12)
    flight = FileFlight(5, clock=host.clock)

    await drive(flight, host, seconds=2)

    assert (flight.limit, flight.maximum, flight.settled) == (5, 5, True)


@pytest.mark.parametrize(("concurrency", "maximum"), [(0, 8), ("many", 8), (True, 8), ("auto", 0)])
def test_a_concurrency_below_one_is_refused(concurrency: object, maximum: object) -> None:
    with pytest.raises(ConfigurationError):
        FileFlight(concurrency, maximum)  # type: ignore[arg-type]
