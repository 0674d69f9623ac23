"""The `cliquify-async` command: demo, harvest, token helpers and a standalone sandbox.

Every failure the SDK can name ends in one line on stderr and a distinct exit code, never a
traceback. The client secret is read from CLIQUIFY_CLIENT_SECRET or a file, never from argv.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from . import errors
from ._client import CliquifyClient
from ._config import ENV_CLIENT_SECRET, parse_paths
from ._doctor import diagnose, render
from ._files.flight import AUTO, DEFAULT_MAX
from ._harvest.harvester import RESOURCES, Harvester, check_resources
from ._harvest.jsonl import JSONLinesSink
from ._harvest.sink import HarvestSink
from ._harvest.sqlite import SQLiteSink
from ._log import one_line

if TYPE_CHECKING:  # the sandbox (aiohttp.web) and rich load only for the commands using them
    from .sandbox import Sandbox

# (exception, exit code): the first match wins, so subclasses come before their bases.
EXIT_CODES: Final[tuple[tuple[type[errors.CliquifyError], int], ...]] = (
    (errors.ConfigurationError, 3),
    (errors.InvalidClientError, 4),
    (errors.InactiveEnterpriseError, 5),
    (errors.CompanyNotFoundError, 6),
    (errors.OutputError, 7),
    (errors.CliquifyError, 1),
)
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

# The demo's sandbox: a fixed window of 60 requests like the real API, compressed tenfold
# in time so a full harvest shows the gate at work and still ends in seconds.
DEMO_WINDOW_SECONDS: Final = 6.0
DEMO_SIZES: Final = {"assets": 3000, "templates": 400, "folders": 24, "asset_tags": 60}
SQLITE_SUFFIXES: Final = (".db", ".sqlite", ".sqlite3")
FORMATS: Final = ("jsonl", "sqlite")


def output_sink(out: Path, output_format: str | None) -> HarvestSink:
    """The sink `--out` and `--format` name: SQLite for `sqlite` or, without a format, for a
    .db/.sqlite/.sqlite3 file; otherwise a folder of JSON Lines files."""
    if output_format is None:
        output_format = "sqlite" if out.suffix.lower() in SQLITE_SUFFIXES else "jsonl"
    return SQLiteSink(out) if output_format == "sqlite" else JSONLinesSink(out)


def _parse_rate(text: str) -> tuple[int | None, float]:
    """`60/60s` -> (60, 60.0); `off` -> (None, 60.0)."""
    if text == "off":
        return None, 60.0
    try:
        count, window = text.split("/")
        return int(count), float(window.removesuffix("s"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected N/SECONDSs such as 60/60s, got {text!r}"
        ) from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _auto_or_positive(text: str) -> int | str:
    return AUTO if text == AUTO else _positive(text)


def _path_override(text: str) -> tuple[str, str]:
    try:
        ((key, path),) = parse_paths(text).items()
    except (ValueError, errors.ConfigurationError):
        raise argparse.ArgumentTypeError(f"expected KEY=/path, got {text!r}") from None
    return key, path


def _resources(text: str) -> list[str]:
    try:
        return check_resources(name.strip() for name in text.split(",") if name.strip())
    except errors.ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _file_text(path: str | None) -> str | None:
    """A secret kept in a file (a token, the client secret), stripped; None without a path."""
    return Path(path).read_text().strip() if path else None


def _client(args: argparse.Namespace, sandbox: Sandbox | None = None) -> CliquifyClient:
    """A client from the flags and environment, or for the in-process sandbox."""
    client_id: str | None = args.client_id if sandbox is None else sandbox.client_id
    secret = _file_text(args.client_secret_file) if sandbox is None else sandbox.client_secret
    base_url: str | None = args.base_url if sandbox is None else sandbox.url
    return CliquifyClient(
        client_id,
        secret,
        base_url=base_url,
        paths=dict(getattr(args, "path", None) or {}),
        requests_per_minute=args.requests_per_minute,
        rate_window=args.rate_window,
    )


async def _harvest_into(args: argparse.Namespace, out: Path, sandbox: Sandbox | None) -> int:
    from rich.console import Console

    from ._harvest.display import HarvestDisplay, failure_lines

    console = Console()
    async with _client(args, sandbox) as client:
        with HarvestDisplay(console, client) as display:
            harvester = Harvester(
                client,
                output_sink(out, args.format),
                resources=args.resources,
                download=args.download,
                download_concurrency=args.concurrency,
                max_download_concurrency=args.max_concurrency,
                on_progress=display.update,
            )
            report = await harvester.run()
        console.print(display.summary(report))
    for line in failure_lines(report):
        console.print(line, markup=False, highlight=False)
    console.print(f"Output: {out}", markup=False, highlight=False)
    return 1 if report.failed else 0


async def _run_harvest(args: argparse.Namespace) -> int:
    if not args.sandbox:
        return await _harvest_into(args, Path(args.out), None)
    from .sandbox import Sandbox

    async with Sandbox() as sandbox:
        return await _harvest_into(args, Path(args.out), sandbox)


async def _run_demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .sandbox import Sandbox

    out = Path(args.out or tempfile.mkdtemp(prefix="cliquify-demo-"))
    if args.out is None and args.format == "sqlite":
        out /= "demo.db"
    async with Sandbox(
        rate_limit=60, rate_window=DEMO_WINDOW_SECONDS, latency=0.05, **DEMO_SIZES
    ) as sandbox:
        Console().print(
            f"Sandbox at {sandbox.url}: 60 requests per {DEMO_WINDOW_SECONDS:g} s window "
            "(the real API's 60 per minute, ten times faster)."
        )
        args.requests_per_minute = 60 * 60 / DEMO_WINDOW_SECONDS
        args.rate_window = DEMO_WINDOW_SECONDS
        return await _harvest_into(args, out, sandbox)


async def _run_token(args: argparse.Namespace) -> int:
    token = _file_text(args.token_file)
    async with _client(args) as client:
        if args.action == "introspect":
            info = await client.auth.introspect(token)
            print(
                json.dumps(
                    {
                        "active": info.active,
                        "client_id": info.client_id,
                        "user_id": info.user_id,
                        "scopes": info.scopes,
                        "expires_at": info.expires_at.isoformat() if info.expires_at else None,
                    },
                    indent=2,
                )
            )
        else:
            await client.auth.revoke(token)
            print("The token was revoked." if token else "The client's access token was revoked.")
    return 0


async def _run_doctor(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        report = await diagnose(client)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


async def _run_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import Sandbox, SandboxConfig

    limit, window = args.rate_limit
    try:
        config = SandboxConfig(
            port=args.port,
            assets=args.assets,
            templates=args.templates,
            rate_limit=limit,
            rate_window=window,
            pagination=args.pagination,
            latency=args.latency,
            token_lifetime=args.token_lifetime,
        )
    except ValueError as exc:  # the sandbox validates its options: a usage error
        print(f"cliquify-async: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    async with Sandbox(config) as sandbox:
        print(f"Cliquify sandbox listening on {sandbox.url} (Ctrl-C to stop)")
        print(f"export CLIQUIFY_BASE_URL={sandbox.url}")
        print(f"export CLIQUIFY_CLIENT_ID={sandbox.client_id}")
        # The sandbox's fixed, public test secret: printing it is the point of this command.
        print(f"export {ENV_CLIENT_SECRET}={sandbox.client_secret}")
        sys.stdout.flush()
        await asyncio.Event().wait()
    return 0


def _add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client-id", help="default: $CLIQUIFY_CLIENT_ID")
    parser.add_argument(
        "--client-secret-file",
        metavar="PATH",
        help=f"read the secret from a file (default: ${ENV_CLIENT_SECRET}; never a flag)",
    )
    parser.add_argument("--base-url", help="default: $CLIQUIFY_BASE_URL or the public API")
    parser.add_argument(
        "--requests-per-minute",
        type=float,
        default=60,
        help="the client's rate gate (default 60, the API's documented limit)",
    )
    parser.add_argument(
        "--path",
        type=_path_override,
        action="append",
        metavar="KEY=/PATH",
        help="serve an endpoint from another path, e.g. assets.tags=/api/asset-tags "
        "(repeatable; also $CLIQUIFY_PATHS)",
    )
    parser.add_argument(
        "--rate-window",
        type=float,
        default=None,
        help="seconds of the server's fixed rate-limit window (default: learned from the "
        "server, 60 until it shows it)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="cliquify-async",
        description="Harvest a Cliquify account, or try it all against a local sandbox.",
        epilog="exit codes: 0 ok, 1 API failure or failed items (rerun to retry them), 2 usage, "
        "3 missing or bad configuration, 4 wrong client id/secret, 5 inactive enterprise, "
        "6 company not found, 7 output in use by another harvest or holding a link it did not "
        "create, 130 interrupted (rerun to resume)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def harvest_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--resources",
            type=_resources,
            default=list(RESOURCES),
            help=f"comma-separated subset of {','.join(RESOURCES)} (default: all)",
        )
        sub.add_argument(
            "--format",
            choices=FORMATS,
            help="jsonl: a folder of .jsonl files; sqlite: one database (default: sqlite for "
            f"an --out ending in {'/'.join(SQLITE_SUFFIXES)}, else jsonl)",
        )
        sub.add_argument(
            "--download",
            action="store_true",
            help="also download asset files (into files/ of the folder, or <stem>_files/ "
            "beside the database)",
        )
        sub.add_argument(
            "--concurrency",
            type=_auto_or_positive,
            default=AUTO,
            help="files downloaded at once: a number, or auto to follow the file host "
            "(default %(default)s)",
        )
        sub.add_argument(
            "--max-concurrency",
            type=_positive,
            default=DEFAULT_MAX,
            help="with --concurrency auto, the most files at once (default %(default)s)",
        )

    demo = commands.add_parser("demo", help="harvest the built-in sandbox: no credentials needed")
    demo.add_argument(
        "--out", help="output folder or database file (default: in a new temporary folder)"
    )
    harvest_options(demo)
    demo.set_defaults(run=_run_demo)

    harvester = commands.add_parser(
        "harvest", help="export every resource to JSON Lines or an SQLite database"
    )
    harvester.add_argument(
        "--out",
        required=True,
        help="output folder, or database file (.db, .sqlite, .sqlite3); rerun to resume or "
        "to update a database",
    )
    harvester.add_argument(
        "--sandbox", action="store_true", help="harvest a fresh built-in sandbox instead"
    )
    harvest_options(harvester)
    _add_client_options(harvester)
    harvester.set_defaults(run=_run_harvest)

    token = commands.add_parser("token", help="introspect or revoke the client's access token")
    token.add_argument("action", choices=["introspect", "revoke"])
    token.add_argument(
        "--token-file",
        metavar="PATH",
        help="the token to act on, read from a file (default: the client's own token)",
    )
    _add_client_options(token)
    token.set_defaults(run=_run_token)

    doctor = commands.add_parser(
        "doctor", help="report where the server differs from what the SDK assumes"
    )
    doctor.add_argument("--json", action="store_true", help="the report as JSON, for a bug report")
    _add_client_options(doctor)
    doctor.set_defaults(run=_run_doctor)

    sandbox = commands.add_parser("sandbox", help="run the sandbox server until Ctrl-C")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--assets", type=int, default=500)
    sandbox.add_argument("--templates", type=int, default=100)
    sandbox.add_argument(
        "--rate-limit", type=_parse_rate, default=(60, 60.0), help="N/SECONDSs or off"
    )
    sandbox.add_argument("--pagination", default="resource", help="the list response shape")
    sandbox.add_argument("--latency", type=float, default=0.0, help="seconds per response")
    sandbox.add_argument("--token-lifetime", type=float, default=31_536_000.0)
    sandbox.set_defaults(run=_run_sandbox)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], Coroutine[Any, Any, int]] = args.run
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        if args.command == "sandbox":
            return 0  # stopping the server is how it ends
        print("cliquify-async: interrupted; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except errors.CliquifyError as exc:
        code = next(code for kind, code in EXIT_CODES if isinstance(exc, kind))
        print(f"cliquify-async: {_one_line(exc)}", file=sys.stderr)
        return code
    except (OSError, sqlite3.Error) as exc:  # the user's own disk
        print(f"cliquify-async: {one_line(str(exc))}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    """`Kind: message` on one printable, bounded line, whatever the server put in it."""
    message: Any = exc.message if isinstance(exc, errors.APIStatusError) else exc
    return one_line(f"{type(exc).__name__}: {message}")
