"""The sandbox's listening site: aiohttp's SockSite, but closing every connection it accepted."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Final

from aiohttp import web

_ACCEPT_RETRY_DELAY: Final = 1.0  # seconds to wait after accept() fails, as asyncio's server does

_logger = logging.getLogger("cliquify_async.sandbox")


class Listener(socket.socket):
    """The listening socket; it holds each connection it accepts until a transport owns it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unowned: set[socket.socket] = set()

    def accept(self) -> tuple[socket.socket, Any]:
        conn, address = super().accept()
        self.unowned.add(conn)
        return conn, address


class Site(web.BaseSite):
    """web.SockSite, but accepting connections itself, so that stopping it leaves none behind.

    asyncio's server, which SockSite runs, accepts a connection in one turn of the loop and makes
    its transport in a task a turn later. runner.cleanup() closes that server first, and a
    connection caught in between then fails to get a transport (CPython gh-109564) with nothing
    closing its socket (gh-155934): the aiohttp Server never sees it, so it cannot drop it.
    Here the listener keeps every accepted socket until loop.connect_accepted_socket() has made
    its transport, and stop() closes those it still keeps; when cleanup then drops the
    connections the aiohttp Server knows, that is all of them.
    """

    __slots__ = ("_accepting", "_handing_over", "_listener", "_name", "_protocols")

    def __init__(self, runner: web.BaseRunner, listener: Listener) -> None:
        super().__init__(runner)
        assert runner.server is not None  # BaseSite has raised if the runner is not set up
        self._protocols = runner.server
        self._listener = listener
        host, port = listener.getsockname()[:2]
        self._name = f"http://{host}:{port}"
        self._accepting: asyncio.Task[None] | None = None
        self._handing_over: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        await super().start()
        self._listener.setblocking(False)
        self._listener.listen(self._backlog)
        self._accepting = asyncio.create_task(self._accept(), name=f"accept {self._name}")

    async def stop(self) -> None:
        try:
            tasks = [*self._handing_over]
            if self._accepting is not None:
                tasks.append(self._accepting)
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)
            for task in tasks:
                if not task.cancelled() and (exc := task.exception()) is not None:
                    _logger.error("the sandbox failed serving connections", exc_info=exc)
        finally:
            for conn in self._listener.unowned:  # accepted, but with no transport yet
                conn.close()
            self._listener.unowned.clear()
            self._listener.close()  # the kernel refuses what is still in the backlog
            await super().stop()

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(self._listener)
            except ConnectionAbortedError:  # the client gave up first
                continue
            except OSError:  # out of file descriptors, say
                _logger.exception("the sandbox could not accept a connection")
                await asyncio.sleep(_ACCEPT_RETRY_DELAY)
                continue
            task = asyncio.create_task(self._hand_over(conn))
            self._handing_over.add(task)
            task.add_done_callback(self._handing_over.discard)

    async def _hand_over(self, conn: socket.socket) -> None:
        # connect_accepted_socket() makes the transport before its first await, so in the same
        # step as this discard: the socket always has an owner, the listener or a transport.
        self._listener.unowned.discard(conn)
        try:
            await asyncio.get_running_loop().connect_accepted_socket(self._protocols, conn)
        except Exception:
            conn.close()
            _logger.exception("the sandbox could not serve a connection")
        except BaseException:
            conn.close()  # a transport that got it is closing it too: no harm
            raise
