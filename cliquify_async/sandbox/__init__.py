"""A local Cliquify API server (aiohttp) implementing the SDK's contract, for tests and demos.

async with Sandbox(assets=250, rate_limit=60) as sb:
    sb.faults.add(Fault.status(503, retry_after=1), path="/api/assets", times=2)
    ...  # point a client at sb.url with sb.client_id / sb.client_secret
"""

from ._config import SandboxConfig
from ._faults import Fault, FaultKind, FaultPlan
from ._pagination import Shape
from ._server import Sandbox
from ._stats import RecordedRequest, SandboxStats

__all__ = [
    "Fault",
    "FaultKind",
    "FaultPlan",
    "RecordedRequest",
    "Sandbox",
    "SandboxConfig",
    "SandboxStats",
    "Shape",
]
