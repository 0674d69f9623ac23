"""Sandbox: the local Cliquify server's lifecycle (bind, serve, close) and its test handles."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any, Final, Self

import attrs
from aiohttp import web

from .._closing import RenamedClose
from ._app import create_app
from ._config import SandboxConfig
from ._dataset import generate
from ._endpoints import ENDPOINTS, parse_query
from ._faults import FaultPlan
from ._pagination import Item
from ._site import Listener, Site
from ._state import SandboxState
from ._stats import SandboxStats
from ._throttle import FixedWindowThrottle, StackedThrottle
from ._tokens import TokenStore

_HOST: Final = "127.0.0.1"
_SHUTDOWN_TIMEOUT: Final = 1.0  # seconds in-flight requests get when the sandbox closes


class Sandbox(RenamedClose):
    """A real Cliquify-like HTTP server on 127.0.0.1 for tests, demos and benchmarks.

    ``Sandbox(**options)`` takes the keyword options of SandboxConfig (or a config plus
    overrides). Use ``async with Sandbox() as sb:`` or ``await sb.start()`` / ``await sb.aclose()``.
    """

    def __init__(self, config: SandboxConfig | None = None, /, **options: Any) -> None:
        self.config = (
            attrs.evolve(config, **options) if config is not None else SandboxConfig(**options)
        )
        self.faults = FaultPlan()
        self.stats = SandboxStats(window=self.config.rate_window)
        self._tokens = TokenStore(lifetime=self.config.token_lifetime, clock=self.config.clock)
        self._runner: web.AppRunner | None = None
        self._state: SandboxState | None = None
        self._closed = False

    def __repr__(self) -> str:
        status = "closed" if self._closed else "running" if self._state else "unstarted"
        where = f" url={self._state.base_url}" if self._state else ""
        return f"<Sandbox {status}{where} client_id={self.config.client_id!r}>"

    async def __aenter__(self) -> Self:
        return await self.start()

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>``."""
        return self._running().base_url

    @property
    def client_id(self) -> str:
        """The OAuth client id the sandbox accepts."""
        return self.config.client_id

    @property
    def client_secret(self) -> str:
        """The sandbox's fixed test secret (not a real credential; repr never shows it)."""
        return self.config.client_secret

    @property
    def dataset(self) -> Mapping[str, list[Item]]:
        """Items by resource key, exactly as served; mutating them changes what is served.

        Keys: templates, template_tags, folders, assets, asset_tags, brand_kits, logos, colors.
        """
        return self._running().data.items

    def items(self, path: str, **filters: str | int) -> list[Item]:
        """What walking every page of ``path`` (e.g. "/api/assets") with ``filters`` yields."""
        endpoint = ENDPOINTS[path]
        query = parse_query(endpoint, {k: str(v) for k, v in filters.items()})
        return list(endpoint.select(self.dataset[endpoint.key], query.filters))

    def change_file(self, url_or_path: str, *, size: int | None = None) -> None:
        """Give a served file a new version, as if it were re-uploaded: different bytes
        (``size`` of them if given), a new ETag and a later Last-Modified.

        The listed item is left as it was, its ``size`` and any ``asset_checksum`` field
        included: a test that wants them to match changes the item through `dataset`.
        """
        files = self._running().data.files
        path = url_or_path.removeprefix(self.url)
        if path not in files:
            raise KeyError(f"the sandbox serves no file at {url_or_path!r}")
        files[path] = files[path].changed(size)

    def revoke_all_tokens(self) -> None:
        """Revoke every token issued so far, as if an admin rotated the client."""
        self._tokens.revoke_all()

    def expire_all_tokens(self) -> None:
        """Expire every token issued so far, as if their lifetime ran out now."""
        self._tokens.expire_all()

    async def start(self) -> Self:
        """Bind a port, generate the dataset for its URL and start serving."""
        if self._state is not None or self._closed:
            raise RuntimeError("a Sandbox can be started only once")
        sock = Listener(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a fixed port restarts
            sock.bind((_HOST, self.config.port))
            base_url = f"http://{_HOST}:{sock.getsockname()[1]}"
            state = SandboxState(
                config=self.config,
                base_url=base_url,
                data=generate(self.config, base_url),
                tokens=self._tokens,
                throttle=self._throttle(),
                faults=self.faults,
                stats=self.stats,
            )
            runner = web.AppRunner(
                create_app(state), access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT
            )
            await runner.setup()
        except BaseException:
            sock.close()
            raise
        try:
            await Site(runner, sock).start()  # the site now owns the socket
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner, self._state = runner, state
        return self

    async def aclose(self) -> None:
        """Stop serving and drop open connections; safe to call more than once."""
        self._closed = True
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    def _throttle(self) -> StackedThrottle | None:
        config = self.config
        if config.rate_limit is None:
            return None
        main = FixedWindowThrottle(
            limit=config.rate_limit, window=config.rate_window, clock=config.clock
        )
        before = [
            FixedWindowThrottle(limit=limit, window=window, clock=config.clock)
            for limit, window in config.extra_rate_limits
        ]
        return StackedThrottle(main, before=before)

    def _running(self) -> SandboxState:
        if self._state is None:
            raise RuntimeError("the Sandbox is not started: use `async with` or `await start()`")
        return self._state
