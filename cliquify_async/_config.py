"""Client settings: arguments merged with the environment, checked once at construction."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping

from attrs import field, frozen
from yarl import URL

from .errors import ConfigurationError

DEFAULT_BASE_URL = "https://oauth.cliquify.me"
ENV_CLIENT_ID = "CLIQUIFY_CLIENT_ID"
ENV_CLIENT_SECRET = "CLIQUIFY_CLIENT_SECRET"  # noqa: S105 - the variable's name, not a secret
ENV_BASE_URL = "CLIQUIFY_BASE_URL"


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

    @classmethod
    def resolve(
        cls,
        client_id: str | None,
        client_secret: str | None,
        base_url: str | URL | None,
        *,
        allow_insecure_http: bool = False,
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
        return cls(
            client_id=client_id,
            client_secret=Secret(client_secret),
            base_url=url.with_query(None).with_fragment(None),
        )

    def url(self, path: str) -> URL:
        """The absolute URL of an API path such as `/api/assets`."""
        return self.base_url.with_path(self.base_url.path.rstrip("/") + path)
