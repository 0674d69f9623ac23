"""The CLI's ETA: remaining pages times the gate's interval, shared by the running listings."""

from __future__ import annotations

from cliquify_async._harvest.display import eta_seconds
from cliquify_async._harvest.harvester import ResourceProgress


def test_eta_is_remaining_pages_at_the_gates_pace_shared_by_running_listings() -> None:
    progress = ResourceProgress(name="assets", pages=4, last_page=10)
    assert eta_seconds(progress, interval=1.0, running=1) == 6.0
    assert eta_seconds(progress, interval=1.0, running=3) == 18.0


def test_eta_is_unknown_without_a_last_page_and_zero_when_done() -> None:
    assert eta_seconds(ResourceProgress(name="assets", pages=4), 1.0, 1) is None
    assert eta_seconds(ResourceProgress(name="assets", done=True), 1.0, 1) == 0.0
