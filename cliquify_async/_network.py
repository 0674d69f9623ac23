"""NetworkSettings: proxies from the environment, TLS verification and connection pool limits
for the aiohttp session the client makes (a session passed in keeps its own)."""

from __future__ import annotations

import os
import ssl
from typing import Any, TypeAlias

import aiohttp
import attrs
from attrs import field, frozen

from .errors import ConfigurationError

SSLSetting: TypeAlias = ssl.SSLContext | str | os.PathLike[str] | bool
"""True: the default verification; False: none; a context; or a CA bundle file or directory."""
TLS: TypeAlias = ssl.SSLContext | bool
"""What aiohttp's connector takes as `ssl=` (it also takes a Fingerprint, unused here)."""


def tls_context(value: object) -> TLS:
    """What the connector's `ssl=` gets for an `ssl` setting: a CA path becomes a context
    trusting it, read now so that a missing or unreadable bundle fails at construction."""
    if isinstance(value, bool | ssl.SSLContext):
        return value
    path = os.fspath(value) if isinstance(value, str | os.PathLike) else None
    if not isinstance(path, str):
        raise ConfigurationError(
            "ssl must be True, False, an ssl.SSLContext or the path of a CA bundle, "
            f"got {type(value).__name__}"
        )
    if not path or not os.path.exists(path):
        raise ConfigurationError(f"ssl: no CA bundle file or directory at {path!r}")
    try:
        if os.path.isdir(path):
            return ssl.create_default_context(capath=path)
        return ssl.create_default_context(cafile=path)
    except OSError as exc:  # ssl.SSLError is an OSError
        raise ConfigurationError(f"ssl: cannot read the CA bundle {path!r}: {exc}") from exc


def _check_flag(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{attribute.name} must be True or False, got {value!r}")


def _check_limit(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(
            f"{attribute.name} must be a whole number of connections, 0 for no limit, got {value!r}"
        )


@frozen
class NetworkSettings:
    """How the session the client makes reaches the server; the defaults are aiohttp's."""

    trust_env: bool = field(default=False, validator=_check_flag)
    """Proxies from HTTP_PROXY/HTTPS_PROXY/NO_PROXY and credentials from .netrc. Off: an
    environment proxy would otherwise see every request without the caller asking for it."""
    ssl: SSLSetting = True
    """Verification of the server's certificate (see SSLSetting)."""
    connection_limit: int = field(default=100, validator=_check_limit)
    """Connections open at once in all; 0 for no limit."""
    connection_limit_per_host: int = field(default=0, validator=_check_limit)
    """Connections open at once to one host and port; 0 for no limit."""
    _tls: TLS = field(
        init=False,
        repr=False,
        eq=False,
        default=attrs.Factory(lambda self: tls_context(self.ssl), takes_self=True),
    )

    def session(self, trace_configs: list[aiohttp.TraceConfig] | None) -> aiohttp.ClientSession:
        """A new session (with its own connector) under these settings; call it in the
        running loop that will use the session."""
        connector = aiohttp.TCPConnector(
            limit=self.connection_limit,
            limit_per_host=self.connection_limit_per_host,
            ssl=self._tls,
        )
        return aiohttp.ClientSession(
            connector=connector, trust_env=self.trust_env, trace_configs=trace_configs
        )


DEFAULT_NETWORK = NetworkSettings()


def check_session_settings(network: NetworkSettings, session: aiohttp.ClientSession | None) -> None:
    """Raise ConfigurationError when a caller's `session` comes with network settings it
    would silently ignore (any setting other than its default)."""
    if session is None:
        return
    given = [
        setting.name
        for setting in attrs.fields(NetworkSettings)
        if setting.init and getattr(network, setting.name) != getattr(DEFAULT_NETWORK, setting.name)
    ]
    if given:
        raise ConfigurationError(
            f"{', '.join(given)} apply to a session the client makes; set them on the "
            "aiohttp.ClientSession you pass instead (its connector and trust_env)"
        )
