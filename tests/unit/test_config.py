"""Unit tests of client settings in cliquify_async._config."""

from __future__ import annotations

import aiohttp
import pytest
from yarl import URL

from cliquify_async import CliquifyClient
from cliquify_async._config import (
    DEFAULT_BASE_URL,
    ENV_BASE_URL,
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ClientConfig,
    Secret,
    is_loopback,
    same_origin,
)
from cliquify_async.errors import ConfigurationError

SECRET = "s3cr3t-VALUE-9f8e7d"


def resolve(
    client_id: str | None = "client-1",
    client_secret: str | None = SECRET,
    base_url: str | URL | None = None,
    *,
    environ: dict[str, str] | None = None,
    allow_insecure_http: bool = False,
) -> ClientConfig:
    return ClientConfig.resolve(
        client_id,
        client_secret,
        base_url,
        allow_insecure_http=allow_insecure_http,
        environ={} if environ is None else environ,
    )


# --- credentials --------------------------------------------------------------------------


def test_explicit_arguments() -> None:
    config = resolve("client-1", SECRET, "https://api.example.com")
    assert config.client_id == "client-1"
    assert config.client_secret.reveal() == SECRET
    assert config.base_url == URL("https://api.example.com")


def test_default_base_url() -> None:
    assert resolve().base_url == URL(DEFAULT_BASE_URL)
    assert URL("https://oauth.cliquify.me") == resolve().base_url


def test_environment_fallback() -> None:
    environ = {
        ENV_CLIENT_ID: "env-id",
        ENV_CLIENT_SECRET: "env-secret",
        ENV_BASE_URL: "https://env.example.com",
    }
    config = resolve(None, None, None, environ=environ)
    assert config.client_id == "env-id"
    assert config.client_secret.reveal() == "env-secret"
    assert config.base_url == URL("https://env.example.com")


def test_arguments_win_over_environment() -> None:
    environ = {
        ENV_CLIENT_ID: "env-id",
        ENV_CLIENT_SECRET: "env-secret",
        ENV_BASE_URL: "https://env.example.com",
    }
    config = resolve("arg-id", "arg-secret", "https://arg.example.com", environ=environ)
    assert config.client_id == "arg-id"
    assert config.client_secret.reveal() == "arg-secret"
    assert config.base_url == URL("https://arg.example.com")


def test_partial_environment_fallback() -> None:
    config = resolve("arg-id", None, environ={ENV_CLIENT_SECRET: "env-secret"})
    assert config.client_id == "arg-id"
    assert config.client_secret.reveal() == "env-secret"


def test_environ_none_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_CLIENT_ID, "os-id")
    monkeypatch.setenv(ENV_CLIENT_SECRET, "os-secret")
    monkeypatch.delenv(ENV_BASE_URL, raising=False)
    config = ClientConfig.resolve(None, None, None)
    assert config.client_id == "os-id"
    assert config.client_secret.reveal() == "os-secret"
    assert config.base_url == URL(DEFAULT_BASE_URL)


def test_explicit_environ_ignores_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_CLIENT_ID, "os-id")
    monkeypatch.setenv(ENV_CLIENT_SECRET, "os-secret")
    with pytest.raises(ConfigurationError, match=ENV_CLIENT_ID):
        resolve(None, None, environ={})


def test_missing_both_names_both_variables() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve(None, None)
    message = str(info.value)
    assert ENV_CLIENT_ID in message
    assert ENV_CLIENT_SECRET in message


def test_missing_id_names_only_id_and_hides_secret() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve(None, SECRET)
    message = str(info.value)
    assert ENV_CLIENT_ID in message
    assert ENV_CLIENT_SECRET not in message
    assert SECRET not in message
    assert SECRET not in repr(info.value)


def test_missing_secret_names_only_secret() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve("client-1", None)
    message = str(info.value)
    assert ENV_CLIENT_SECRET in message
    assert ENV_CLIENT_ID not in message


@pytest.mark.parametrize(("client_id", "secret"), [("", SECRET), ("client-1", "")])
def test_empty_strings_count_as_missing(client_id: str, secret: str) -> None:
    with pytest.raises(ConfigurationError, match="missing credentials"):
        resolve(client_id, secret)


def test_configuration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="missing credentials"):
        resolve(None, None)


# --- base URL -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "http://api.example.com",
        "http://10.0.0.5:8000",
        "http://192.168.1.10",
        "http://localhost.example.com",
    ],
)
def test_plain_http_refused_for_non_loopback(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="plain http") as info:
        resolve(base_url=base_url)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("base_url", ["http://api.example.com", "http://10.0.0.5:8000"])
def test_plain_http_allowed_when_asked(base_url: str) -> None:
    config = resolve(base_url=base_url, allow_insecure_http=True)
    assert config.base_url == URL(base_url)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8080",
        "http://127.0.0.1",
        "http://127.1.2.3:9000",
        "http://localhost:8080",
        "http://LOCALHOST:8080",
        "http://[::1]:8080",
    ],
)
def test_plain_http_allowed_for_loopback(base_url: str) -> None:
    config = resolve(base_url=base_url)
    assert config.base_url.scheme == "http"
    assert config.base_url == URL(base_url)


@pytest.mark.parametrize(
    "base_url", ["ftp://oauth.cliquify.me", "oauth.cliquify.me", "/api", "https://", "file:///x"]
)
def test_non_http_or_relative_base_url_refused(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="absolute http"):
        resolve(base_url=base_url)


def test_base_url_as_yarl_url() -> None:
    assert resolve(base_url=URL("https://api.example.com/x")).base_url == URL(
        "https://api.example.com/x"
    )


def test_base_url_query_and_fragment_dropped() -> None:
    config = resolve(base_url="https://api.example.com/prefix?debug=1#frag")
    assert config.base_url == URL("https://api.example.com/prefix")
    assert config.base_url.query_string == ""
    assert config.base_url.fragment == ""


def test_unparseable_base_url_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        resolve(base_url="http://[")


# --- url() ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "path", "expected"),
    [
        ("https://oauth.cliquify.me", "/api/assets", "https://oauth.cliquify.me/api/assets"),
        ("https://oauth.cliquify.me/", "/api/assets", "https://oauth.cliquify.me/api/assets"),
        (
            "https://oauth.cliquify.me",
            "/oauth/access-token",
            "https://oauth.cliquify.me/oauth/access-token",
        ),
        (
            "https://gw.example.com/cliquify",
            "/api/tags",
            "https://gw.example.com/cliquify/api/tags",
        ),
        (
            "https://gw.example.com/cliquify/",
            "/api/tags",
            "https://gw.example.com/cliquify/api/tags",
        ),
        ("http://127.0.0.1:8080", "/api/brand-kit", "http://127.0.0.1:8080/api/brand-kit"),
    ],
)
def test_url(base_url: str, path: str, expected: str) -> None:
    assert resolve(base_url=base_url).url(path) == URL(expected)


# --- helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1", True),
        ("http://127.255.0.1", True),
        ("http://localhost", True),
        ("http://[::1]", True),
        ("http://128.0.0.1", False),
        ("http://0.0.0.0", False),
        ("http://example.com", False),
        ("http://localhost.evil.example", False),
    ],
)
def test_is_loopback(url: str, expected: bool) -> None:
    assert is_loopback(URL(url)) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://oauth.cliquify.me/api/x?page=2", True),
        ("http://oauth.cliquify.me/api/x", False),
        ("https://oauth.cliquify.me:8443/api/x", False),
        ("https://evil.example/api/x", False),
        ("/api/x", False),
    ],
)
def test_same_origin(url: str, expected: bool) -> None:
    assert same_origin(URL(url), URL("https://oauth.cliquify.me")) is expected


# --- Secret ---------------------------------------------------------------------------------


def test_secret_never_shows_itself() -> None:
    secret = Secret(SECRET)
    shown = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret!s}",
        "%s" % (secret,),  # noqa: UP031 - the old formatting path is what we test
        "{}".format(secret),  # noqa: UP032 - str.format is what we test
        repr([secret]),
        repr({"secret": secret}),
    ]
    for text in shown:
        assert SECRET not in text
        assert "****" in text


def test_secret_reveal() -> None:
    assert Secret(SECRET).reveal() == SECRET


def test_secret_has_no_instance_dict() -> None:
    assert not hasattr(Secret(SECRET), "__dict__")


def test_client_config_repr_hides_secret() -> None:
    config = resolve()
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert "client-1" in repr(config)


@pytest.mark.parametrize("pages", [0, -1])
def test_page_concurrency_below_one_is_refused_up_front(pages: int) -> None:
    with pytest.raises(ConfigurationError, match="page_concurrency"):
        CliquifyClient("id", "secret", page_concurrency=pages)
    client = CliquifyClient("id", "secret")
    with pytest.raises(ConfigurationError, match="page_concurrency"):
        client.with_options(page_concurrency=pages)  # not only later, at .list()


async def test_trace_configs_with_a_session_of_your_own_are_refused_not_ignored() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ConfigurationError, match="trace_configs"):
            CliquifyClient("id", "secret", session=session, trace_configs=[aiohttp.TraceConfig()])
