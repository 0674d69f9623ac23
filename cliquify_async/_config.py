"""Client settings: arguments merged with the environment, checked once at construction."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import TypeVar

import attrs
from attrs import field, frozen
from yarl import URL

from ._endpoints import BY_KEY, Endpoint
from .errors import ConfigurationError

T = TypeVar("T")

DEFAULT_BASE_URL = "https://oauth.cliquify.me"
ENV_CLIENT_ID = "CLIQUIFY_CLIENT_ID"
ENV_CLIENT_SECRET = "CLIQUIFY_CLIENT_SECRET"  # noqa: S105 - the variable's name, not a secret
ENV_BASE_URL = "CLIQUIFY_BASE_URL"
ENV_PATHS = "CLIQUIFY_PATHS"


class Secret:
    """A string that never shows itself in repr, str or f-strings; `reveal()` to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def reveal(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value


def is_loopback(url: URL) -> bool:
    """True for localhost and 127.0.0.0/8 or ::1 hosts, where plain http cannot be sniffed."""
    host = url.host or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_paths(text: str) -> dict[str, str]:
    """Path overrides from `assets.tags=/api/asset-tags,templates.tags=/api/brand-tags`."""
    overrides: dict[str, str] = {}
    for pair in text.replace(";", ",").split(","):
        if not pair.strip():
            continue
        key, sep, path = pair.partition("=")
        if not sep:
            raise ConfigurationError(f"a path override is KEY=/path, got {pair.strip()!r}")
        overrides[key.strip()] = path.strip()
    return overrides


def check_paths(overrides: Mapping[str, str]) -> dict[str, str]:
    """Refuse overrides of endpoints that do not exist or paths that are not absolute."""
    unknown = sorted(set(overrides) - set(BY_KEY))
    if unknown:
        raise ConfigurationError(
            f"no endpoint {', '.join(unknown)} to override; the keys are {', '.join(BY_KEY)}"
        )
    for key, path in overrides.items():
        if not path.startswith("/"):
            raise ConfigurationError(f"the path for {key} must start with '/', got {path!r}")
    return dict(overrides)


def same_origin(url: URL, base: URL) -> bool:
    """True when `url` has the scheme, host and port of `base` (default ports filled in)."""
    return url.is_absolute() and (url.scheme, url.host, url.port) == (
        base.scheme,
        base.host,
        base.port,
    )


@frozen(kw_only=True)
class ClientConfig:
    """The resolved settings of one client."""

    client_id: str
    client_secret: Secret = field(repr=False)
    base_url: URL
    paths: Mapping[str, str] = field(factory=dict)
    """Endpoint path overrides by SDK call, e.g. {"assets.tags": "/api/asset-tags"}."""

    @classmethod
    def resolve(
        cls,
        client_id: str | None,
        client_secret: str | None,
        base_url: str | URL | None,
        *,
        allow_insecure_http: bool = False,
        paths: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Fill missing arguments from the environment and refuse an unusable or unsafe result."""
        env = os.environ if environ is None else environ
        client_id = client_id or env.get(ENV_CLIENT_ID)
        client_secret = client_secret or env.get(ENV_CLIENT_SECRET)
        if not client_id or not client_secret:
            missing = [ENV_CLIENT_ID] if not client_id else []
            missing += [ENV_CLIENT_SECRET] if not client_secret else []
            raise ConfigurationError(
                "missing credentials: pass client_id and client_secret, or set "
                + " and ".join(missing)
            )
        text = str(base_url or env.get(ENV_BASE_URL) or DEFAULT_BASE_URL)
        try:
            url = URL(text)
        except ValueError as exc:
            raise ConfigurationError(f"base_url is not a valid URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigurationError(f"base_url must be an absolute http(s) URL, got {url}")
        if url.scheme == "http" and not (allow_insecure_http or is_loopback(url)):
            raise ConfigurationError(
                f"refusing plain http to {url.host}: the token would travel unencrypted; "
                "use https, or pass allow_insecure_http=True"
            )
        overrides = parse_paths(env.get(ENV_PATHS, "")) | dict(paths or {})
        return cls(
            client_id=client_id,
            client_secret=Secret(client_secret),
            base_url=url.with_query(None).with_fragment(None),
            paths=check_paths(overrides),
        )

    def endpoint(self, endpoint: Endpoint[T]) -> Endpoint[T]:
        """`endpoint` with its path overridden, if the configuration says so."""
        path = self.paths.get(endpoint.key)
        return endpoint if path is None else attrs.evolve(endpoint, path=path)

    def url(self, path: str) -> URL:
        """The absolute URL of an API path such as `/api/assets`."""
        return self.base_url.with_path(self.base_url.path.rstrip("/") + path)
