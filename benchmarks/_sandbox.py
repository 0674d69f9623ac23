"""The sandbox server in a child process, so the measured client has its process to itself.

`SandboxProcess(**options)` starts `cliquify_async.sandbox.Sandbox(**options)` in a spawned
child and answers, over a pipe, with what the server recorded. Arrival times are the
sandbox's `time.monotonic()`, which on Linux is the same clock in every process, so they
compare directly with the client's `time.monotonic()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import Mapping
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Final, NamedTuple, Self

READY_TIMEOUT: Final = 120.0  # seconds for the child to generate its dataset and bind
ANSWER_TIMEOUT: Final = 60.0
STOP_TIMEOUT: Final = 10.0


class Record(NamedTuple):
    """One request as the sandbox handled it."""

    path: str
    time: float  # arrival, time.monotonic() of the sandbox process
    throttled: bool  # answered 429 by the rate limiter
    page: int | None  # the `page` query parameter, if a number
    status: int | None = None  # the answer's status (None: the connection was closed first)
    per_page: int | None = None  # the `per_page` query parameter, if a number
    body_bytes: int = 0  # body bytes written for a 2xx answer (a file's, up to any cut)


class SandboxError(RuntimeError):
    """The sandbox child failed to start or stopped answering."""


def _number(query: Mapping[str, str], name: str = "page") -> int | None:
    value = query.get(name, "")
    return int(value) if value.isdecimal() else None


def _receive(conn: Connection) -> str:
    try:
        command: str = conn.recv()
    except EOFError:  # the parent went away
        return "stop"
    return command


async def _host(conn: Connection, options: dict[str, Any]) -> None:
    from cliquify_async.sandbox import Sandbox

    async with Sandbox(**options) as sandbox:
        conn.send(("ok", (sandbox.url, sandbox.client_id, sandbox.client_secret)))
        loop = asyncio.get_running_loop()
        while (command := await loop.run_in_executor(None, _receive, conn)) != "stop":
            if command == "records":
                records = [
                    Record(
                        r.path,
                        r.time,
                        r.throttled,
                        _number(r.query),
                        r.status,
                        _number(r.query, "per_page"),
                        r.body_bytes,
                    )
                    for r in sandbox.stats.requests
                ]
                conn.send(("ok", records))
            elif command == "reset":
                sandbox.stats.reset()
                conn.send(("ok", None))
            else:
                conn.send(("error", f"unknown command {command!r}"))


def _serve(conn: Connection, options: dict[str, Any]) -> None:
    """The child process: run the sandbox until told to stop (or the parent is gone).

    Every answer is ("ok", payload) or ("error", text); the first is the sandbox's address.
    """
    try:
        asyncio.run(_host(conn, options))
    except Exception as exc:
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        conn.close()


class SandboxProcess:
    """A Sandbox on 127.0.0.1 in a child process; use as a context manager."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.url = self.client_id = self.client_secret = ""
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None

    def __repr__(self) -> str:
        return f"<SandboxProcess url={self.url or None!r} options={self.options!r}>"

    def start(self) -> Self:
        """Start the child; returns at once (`wait_ready` waits for the server)."""
        if self._process is not None:
            raise RuntimeError("a SandboxProcess can be started only once")
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child_conn, self.options), name="cliquify-sandbox", daemon=True
        )
        try:
            self._process.start()
        finally:
            child_conn.close()
        return self

    @property
    def pid(self) -> int | None:
        """The child's process id once started (to read its CPU time), else None."""
        return None if self._process is None else self._process.pid

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> Self:
        """Wait until the child serves; raises SandboxError if it failed or took too long."""
        if not self.url:
            self.url, self.client_id, self.client_secret = self._answer(timeout)
        return self

    def records(self) -> list[Record]:
        """Every request the sandbox has recorded since the last reset, oldest first."""
        self._send("records")
        records: list[Record] = self._answer(ANSWER_TIMEOUT)
        return records

    def reset(self) -> None:
        """Forget the records so far."""
        self._send("reset")
        self._answer(ANSWER_TIMEOUT)

    def _connection(self) -> Connection:
        if self._conn is None:
            raise SandboxError("the sandbox process is not started")
        return self._conn

    def _send(self, command: str) -> None:
        try:
            self._connection().send(command)
        except OSError as exc:
            raise SandboxError(f"the sandbox process is gone ({exc})") from None

    def _answer(self, timeout: float) -> Any:
        conn = self._connection()
        if not conn.poll(timeout):
            raise SandboxError(f"the sandbox did not answer within {timeout:g} s")
        try:
            kind, payload = conn.recv()
        except EOFError:
            raise SandboxError("the sandbox process exited") from None
        if kind != "ok":
            raise SandboxError(f"the sandbox failed: {payload}")
        return payload

    def close(self) -> None:
        """Stop the child (politely, then by force); safe to call more than once."""
        process, conn = self._process, self._conn
        if process is None or conn is None or conn.closed:
            return
        with contextlib.suppress(OSError):  # BrokenPipeError: the child is gone already
            conn.send("stop")
        process.join(STOP_TIMEOUT)
        if process.is_alive():
            process.terminate()
            process.join(STOP_TIMEOUT)
        conn.close()
        process.close()

    def __enter__(self) -> Self:
        self.start()
        try:
            return self.wait_ready()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def assets_only(assets: int, **options: Any) -> SandboxProcess:
    """A SandboxProcess serving `assets` assets and no other items."""
    return SandboxProcess(
        assets=assets,
        templates=0,
        folders=0,
        template_tags=0,
        asset_tags=0,
        brand_kits=0,
        **options,
    )
