"""The running sandbox's shared state, reachable from every handler as ``request.app[STATE]``."""

from __future__ import annotations

from typing import Final

import attrs
from aiohttp import web

from ._config import SandboxConfig
from ._dataset import Dataset
from ._faults import FaultPlan
from ._stats import SandboxStats
from ._throttle import StackedThrottle
from ._tokens import TokenStore


@attrs.define(kw_only=True)
class SandboxState:
    """Everything a handler needs: options, data, tokens, limiter, fault plan and records."""

    config: SandboxConfig
    base_url: str
    data: Dataset = attrs.field(repr=False)
    tokens: TokenStore
    throttle: StackedThrottle | None
    faults: FaultPlan
    stats: SandboxStats


STATE: Final = web.AppKey("state", SandboxState)
