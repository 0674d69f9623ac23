"""The doctor: where the SDK's assumptions about the API differ from a live server.

Much of the API is undocumented (docs/contract.md marks each assumption). With real
credentials, `diagnose()` spends a small, fixed number of requests (one or two for the token,
one introspection, one page of one item per list endpoint) and reports what it saw next to
what the SDK assumes. It never records a secret or a token.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import attrs
from multidict import CIMultiDict

from ._client import CliquifyClient, pipeline
from ._endpoints import BY_KEY
from ._fields import named_fields
from ._log import escaped
from ._pagination.rules import read_page
from ._ratelimit.limits import RateLimit
from ._redact import scrub
from ._timestamps import parse_datetime
from .errors import CliquifyError, ResponseDecodeError

DOCUMENTED_SCOPES: Final = ("profile:read", "templates:read", "assets:read", "brandkit:read")
DOCUMENTED_LIFETIMES: Final = (31_536_000, 2_592_000)
RATE_HEADERS: Final = ("X-RateLimit-Limit", "X-RateLimit-Remaining")
DOCUMENTED_RATE: Final = RateLimit(60, 60.0, learned=False)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def datetime_format(value: Any) -> str:
    """Which documented timestamp format a value uses, by name: "unrecognised" unless the
    SDK parses it, then told apart by the date-time separator ("T" or a space)."""
    try:
        parse_datetime(value)
    except ResponseDecodeError:
        return "unrecognised"
    return "YYYY-MM-DD HH:MM:SS" if " " in value.strip() else "ISO 8601"


async def diagnose(client: CliquifyClient) -> dict[str, Any]:
    """Probe the server behind `client` and report every difference from the SDK's contract."""
    transport = pipeline(client)
    report: dict[str, Any] = {
        "base_url": str(client.base_url),
        "client_id": client.client_id,
        "differences": [],
    }
    differences: list[str] = report["differences"]
    requests_before = transport.stats.requests + transport.stats.token_requests

    try:
        token = await client.auth.token()
    except CliquifyError as exc:
        report["token"] = {"ok": False, "error": _error(exc)}
        differences.append(f"token request failed: {_error(exc)}")
        return _finish(report, client, requests_before, introspections=0)
    encoding = "form" if transport.credentials.form_encoded else "json"
    report["token"] = {
        "ok": True,
        "encoding": encoding,
        "token_type": token.token_type,
        "expires_in": token.expires_in,
    }
    if encoding == "form":
        differences.append("token request: the JSON body was refused; form-encoded worked")
    if token.expires_in not in DOCUMENTED_LIFETIMES:
        granted = "none given" if token.expires_in is None else f"{token.expires_in:g} s granted"
        differences.append(
            f"token lifetime: {granted}, documented {' or '.join(map(str, DOCUMENTED_LIFETIMES))} s"
        )

    report["introspection"] = await _introspection(client, differences)
    endpoints: dict[str, Any] = {}
    rate: dict[str, Any] = {"headers_present": False}
    for key in BY_KEY:
        endpoints[key] = await _endpoint(client, key, rate, differences)
    report["endpoints"] = endpoints
    report["rate_limit"] = rate
    if not rate["headers_present"]:
        differences.append("rate limit: no X-RateLimit-* headers; the gate cannot learn the limit")
    report["rate_gate"] = _rate_gate(client.rate_limits, differences)
    return _finish(report, client, requests_before, introspections=1)


def _rate_gate(limits: tuple[RateLimit, ...], differences: list[str]) -> list[dict[str, Any]]:
    """The limits the gate paces to after the probes; a learned one that is not the
    documented 60 per 60 s is a difference (the window learned is an upper bound, hence 5%)."""
    for limit in limits:
        documented = limit.requests == DOCUMENTED_RATE.requests and math.isclose(
            limit.window, DOCUMENTED_RATE.window, rel_tol=0.05
        )
        if limit.learned and not documented:
            differences.append(
                f"rate limit: the server allows {limit}, documented {DOCUMENTED_RATE}"
            )
    return [attrs.asdict(limit) for limit in limits]


def _finish(
    report: dict[str, Any], client: CliquifyClient, before: int, *, introspections: int
) -> dict[str, Any]:
    """Count the requests spent: token and /api attempts from the client, plus introspection;
    what the server sent is in the report, so its secrets are masked (echoed or not)."""
    stats = pipeline(client).stats
    report["requests"] = stats.requests + stats.token_requests - before + introspections
    scrubbed: dict[str, Any] = scrub(report)
    return scrubbed


async def _introspection(client: CliquifyClient, differences: list[str]) -> dict[str, Any]:
    try:
        info = await client.auth.introspect()
    except CliquifyError as exc:
        differences.append(f"introspection failed: {_error(exc)}")
        return {"ok": False, "error": _error(exc)}
    scopes = list(info.scopes or [])
    missing = [s for s in DOCUMENTED_SCOPES if s not in scopes]
    extra = [s for s in scopes if s not in DOCUMENTED_SCOPES]
    if missing:
        differences.append(f"scopes: not granted {', '.join(missing)}")
    if extra:
        differences.append(f"scopes: granted beyond the documented ones: {', '.join(extra)}")
    return {
        "ok": True,
        "active": info.active,
        "scopes": scopes,
        "missing_scopes": missing,
        "extra_scopes": extra,
        "expires_at": info.expires_at.isoformat() if info.expires_at else None,
    }


async def _endpoint(
    client: CliquifyClient, key: str, rate: dict[str, Any], differences: list[str]
) -> dict[str, Any]:
    """One page of one item: status, shape, fields against the model, timestamp formats."""
    transport = pipeline(client)
    config = transport.config
    endpoint = config.endpoint(BY_KEY[key])
    probe = await transport.probe(config.url(endpoint.path).with_query(per_page=1))
    _note_rate_headers(probe.headers, probe.status, rate)
    result: dict[str, Any] = {"path": endpoint.path, "status": probe.status}
    if not 200 <= probe.status < 300:
        message = probe.body.get("message") if isinstance(probe.body, Mapping) else None
        result["message"] = message
        differences.append(f"{key}: {endpoint.path} answered {probe.status} {message or ''}")
        return result
    try:
        page = read_page(probe.body)
    except ResponseDecodeError as exc:
        differences.append(f"{key}: the list response has no recognisable shape ({exc.reason})")
        result["shape"] = None
        return result
    assumed = named_fields(endpoint.model)
    seen = sorted({field for item in page.items if isinstance(item, Mapping) for field in item})
    formats = sorted(
        {
            datetime_format(item[field])
            for item in page.items
            if isinstance(item, Mapping)
            for field in item
            if field.endswith("_at") and item[field] is not None
        }
    )
    result |= {
        "shape": page.shape,
        "items_seen": len(page.items),
        "unknown_fields": sorted(set(seen) - assumed) if page.items else [],
        "missing_fields": sorted(assumed - set(seen)) if page.items else [],
        "datetime_formats": formats,
    }
    if page.shape != "resource":
        differences.append(f"{key}: pagination shape {page.shape!r} (handled; assumed 'resource')")
    if result["unknown_fields"]:
        differences.append(f"{key}: unknown fields {', '.join(result['unknown_fields'])}")
    if result["missing_fields"]:
        differences.append(f"{key}: assumed fields absent {', '.join(result['missing_fields'])}")
    if "unrecognised" in formats:
        differences.append(f"{key}: timestamps in an unrecognised format")
    return result


def _note_rate_headers(raw: Mapping[str, str], status: int, rate: dict[str, Any]) -> None:
    """Note the rate-limit headers; header names are case-insensitive, whatever `raw` is."""
    headers = CIMultiDict(raw)
    present = {name: headers[name] for name in RATE_HEADERS if name in headers}
    if present:
        rate["headers_present"] = True
        rate["limit"] = present.get("X-RateLimit-Limit")
        rate["remaining"] = present.get("X-RateLimit-Remaining")
    if status == 429:
        rate["retry_after"] = headers.get("Retry-After")
        rate["reset"] = headers.get("X-RateLimit-Reset")


def render(report: Mapping[str, Any]) -> str:
    """The report as text for a terminal."""
    lines = [f"Cliquify doctor: {report['base_url']} (client {report['client_id']})", ""]
    token = report.get("token", {})
    if token.get("ok"):
        lifetime = token["expires_in"]
        expires = "no expires_in" if lifetime is None else f"expires in {lifetime:g} s"
        lines.append(
            f"token          ok, sent as {token['encoding']}, {token['token_type']}, {expires}"
        )
    else:
        lines.append(f"token          FAILED: {token.get('error')}")
    intro = report.get("introspection")
    if intro:
        scopes = ", ".join(intro.get("scopes", [])) if intro.get("ok") else intro.get("error")
        lines.append(f"introspection  {scopes}")
    for key, result in report.get("endpoints", {}).items():
        shape = result.get("shape") or "-"
        lines.append(f"{key:<17}{result['path']:<24}{result['status']}  {shape}")
    for limit in report.get("rate_gate", []):
        seen = "learned from the server" if limit["learned"] else "window not shown yet"
        lines.append(
            f"rate gate      {RateLimit(limit['requests'], limit['window'], limit['learned'])}"
            f" ({seen})"
        )
    rate = report.get("rate_limit")
    if rate:
        if rate["headers_present"]:
            lines.append(
                f"rate limit     {rate.get('limit')} per window, {rate.get('remaining')} left"
            )
        else:
            lines.append("rate limit     no X-RateLimit-* headers")
    lines += ["", f"{report['requests']} requests made.", ""]
    differences = report["differences"]
    if differences:
        lines.append("Differences from the SDK's assumptions:")
        lines += [f"  - {difference}" for difference in differences]
        lines.append("")
        lines.append(
            "Paste `cliquify-async doctor --json` into a bug report. A renamed path works "
            "today with --path KEY=/path (or CLIQUIFY_PATHS, or CliquifyClient(paths=...))."
        )
    else:
        lines.append("No differences: the server matches every assumption the SDK makes.")
    return "\n".join(map(escaped, lines))  # server text: no terminal escapes, no forged lines
