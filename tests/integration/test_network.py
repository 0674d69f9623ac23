"""Network settings of the session the client makes: an environment proxy (only with
trust_env), TLS verification against a CA of the test's own, and connection pool limits.

Every server is on 127.0.0.1: the sandbox, a forward proxy and an HTTPS front written here.
"""

from __future__ import annotations

import contextlib
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from cliquify_async import APIConnectionError, CliquifyClient, ConfigurationError
from cliquify_async._client import pipeline
from cliquify_async._network import NetworkSettings, SSLSetting, check_session_settings
from cliquify_async.sandbox import Sandbox
from tests.conftest import ClientFactory, serving

# Headers of one hop, not passed on by a proxy (RFC 9110 §7.6.1), and those aiohttp sets anew.
HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
    }
)
UPSTREAM = web.AppKey("upstream", aiohttp.ClientSession)

# A CA and a server certificate for 127.0.0.1 it signed, shaped as strict verification wants.
OPENSSL_CONFIG = """\
[req]
distinguished_name = name
prompt = no
[name]
CN = cliquify-async test
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def headers_to_pass(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """The end-to-end headers of a request or an answer, repeated ones kept."""
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in HOP_HEADERS)


@attrs.define
class Relay:
    """An aiohttp app passing each request on to `target(request)` and its answer back,
    with the paths it relayed."""

    target: Callable[[web.Request], URL]
    paths: list[str] = attrs.Factory(list)

    def app(self) -> web.Application:
        app = web.Application()
        app.cleanup_ctx.append(self._upstream)
        app.router.add_route("*", "/{tail:.*}", self._relay)
        return app

    async def _upstream(self, app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:  # trust_env off: straight to the target
            app[UPSTREAM] = session
            yield

    async def _relay(self, request: web.Request) -> web.Response:
        target = self.target(request)
        self.paths.append(request.path)
        async with request.app[UPSTREAM].request(
            request.method,
            target,
            headers=headers_to_pass(request.headers),
            data=await request.read(),
            allow_redirects=False,
            auto_decompress=False,
        ) as answer:
            body = await answer.read()
            return web.Response(
                status=answer.status, body=body, headers=headers_to_pass(answer.headers)
            )


def forward_proxy() -> Relay:
    """A forward proxy: plain-http requests come to it with the absolute URL to fetch."""

    def absolute(request: web.Request) -> URL:
        target = URL(request.raw_path)  # the request line's target, as the client sent it
        if not target.absolute:
            raise web.HTTPBadRequest(text="a proxy request names an absolute URL")
        return target

    return Relay(absolute)


def https_front(origin: str) -> Relay:
    """A TLS-terminating front for the server at `origin`."""
    return Relay(lambda request: URL(origin).join(request.rel_url))


@attrs.frozen
class Certificates:
    ca: Path
    server_cert: Path
    server_key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.server_cert, self.server_key)
        return context


def openssl(directory: Path, arguments: str) -> str:
    """Run the openssl command in `directory` (file names are relative to it); its output."""
    command = shutil.which("openssl")
    if command is None:
        pytest.fail("the network tests need the openssl command on PATH")
    done = subprocess.run(  # noqa: S603 - the openssl found on PATH, with our own arguments
        [command, *arguments.split()], cwd=directory, check=True, capture_output=True, text=True
    )
    return done.stdout


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    """A fresh CA and a server certificate it signed, made with the openssl command."""
    (tmp_path / "openssl.cnf").write_text(OPENSSL_CONFIG, encoding="utf-8")
    new_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -config openssl.cnf"
    openssl(tmp_path, f"req -x509 {new_key} -keyout ca.key -out ca.pem -days 2 -extensions ca")
    openssl(tmp_path, f"req -new {new_key} -keyout server.key -out server.csr")
    openssl(
        tmp_path,
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2"
        " -out server.pem -extfile openssl.cnf -extensions server",
    )
    return Certificates(tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key")


def ca_directory(certs: Certificates, directory: Path) -> Path:
    """A CA directory as OpenSSL reads it: each certificate named by its subject's hash."""
    directory.mkdir()
    subject_hash = openssl(certs.ca.parent, f"x509 -subject_hash -noout -in {certs.ca.name}")
    shutil.copy(certs.ca, directory / f"{subject_hash.strip()}.0")
    return directory


@contextlib.asynccontextmanager
async def serving_tls(app: web.Application, context: ssl.SSLContext) -> AsyncIterator[str]:
    """Serve `app` over TLS on a free port of 127.0.0.1; yields its https base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def hello_app() -> web.Application:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    return app


def use_proxy(monkeypatch: pytest.MonkeyPatch, proxy: str, tmp_path: Path) -> None:
    """The environment of a machine behind `proxy`, with loopback not exempted and an empty
    .netrc (the developer's own must not change what the test sees)."""
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    netrc = tmp_path / "netrc"
    netrc.write_text("", encoding="utf-8")
    monkeypatch.setenv("NETRC", str(netrc))


# --- trust_env: the environment's proxy, only when asked for -------------------------------


async def test_trust_env_sends_every_request_through_the_environment_proxy(
    sandbox: Sandbox,
    make_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    proxy = forward_proxy()
    async with serving(proxy.app()) as proxy_url:
        use_proxy(monkeypatch, proxy_url, tmp_path)
        client = make_client(sandbox, trust_env=True)
        assets = await client.assets.list().collect()

    assert [a.id for a in assets] == [raw["id"] for raw in sandbox.items("/api/assets")]
    assert proxy.paths.count("/oauth/access-token") == 1
    api_paths = [path for path in proxy.paths if path.startswith("/api/")]
    assert len(api_paths) == client.stats.requests >= 2  # more than one page, all proxied
    assert len(sandbox.stats.requests) == len(proxy.paths)  # nothing went around the proxy


async def test_without_trust_env_the_environment_proxy_is_not_used(
    sandbox: Sandbox,
    make_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    proxy = forward_proxy()
    async with serving(proxy.app()) as proxy_url:
        use_proxy(monkeypatch, proxy_url, tmp_path)
        client = make_client(sandbox)
        assets = await client.assets.list().collect()

    assert [a.id for a in assets] == [raw["id"] for raw in sandbox.items("/api/assets")]
    assert proxy.paths == []


# --- ssl: which certificates the client trusts ----------------------------------------------


@pytest.mark.parametrize("form", ["str", "Path", "directory", "SSLContext", "False"])
async def test_each_form_of_ssl_reaches_a_server_of_our_own_ca(
    certificates: Certificates, tmp_path: Path, form: str
) -> None:
    settings: dict[str, Callable[[], SSLSetting]] = {
        "str": lambda: str(certificates.ca),
        "Path": lambda: certificates.ca,
        "directory": lambda: ca_directory(certificates, tmp_path / "cas"),
        "SSLContext": lambda: ssl.create_default_context(cafile=certificates.ca),
        "False": lambda: False,  # no verification at all
    }
    setting = settings[form]()
    async with (
        serving_tls(hello_app(), certificates.server_context()) as url,
        NetworkSettings(ssl=setting).session(None) as session,
        session.get(url) as response,
    ):
        assert await response.text() == "hello"


async def test_default_verification_refuses_a_certificate_of_an_unknown_ca(
    certificates: Certificates,
) -> None:
    async with (
        serving_tls(hello_app(), certificates.server_context()) as url,
        NetworkSettings().session(None) as session,
    ):
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(url)


async def test_the_clients_ssl_setting_decides_whom_it_trusts(
    sandbox: Sandbox, certificates: Certificates
) -> None:
    def client(base_url: str, **network: Any) -> CliquifyClient:
        return CliquifyClient(
            sandbox.client_id,
            sandbox.client_secret,
            base_url=base_url,
            requests_per_minute=None,
            max_retries=0,
            **network,
        )

    front = https_front(sandbox.url)
    expected = [raw["id"] for raw in sandbox.items("/api/folders")]  # one page: no next link
    async with serving_tls(front.app(), certificates.server_context()) as url:
        async with client(url) as default:
            with pytest.raises(APIConnectionError):
                await default.folders.list().collect()
        for network in ({"ssl": certificates.ca}, {"ssl": False}):
            async with client(url, **network) as trusting:
                folders = await trusting.folders.list().collect()
            assert [f.id for f in folders] == expected


# --- connection limits, and what NetworkSettings refuses ------------------------------------


async def test_the_session_gets_the_limits_and_trust_env() -> None:
    tracing = [aiohttp.TraceConfig()]
    settings = NetworkSettings(trust_env=True, connection_limit=2, connection_limit_per_host=1)
    async with settings.session(tracing) as session:
        assert session.connector is not None
        assert (session.connector.limit, session.connector.limit_per_host) == (2, 1)
        assert session.trust_env
        assert session.trace_configs == tracing
    async with NetworkSettings().session(None) as session:  # aiohttp's own defaults
        assert session.connector is not None
        assert (session.connector.limit, session.connector.limit_per_host) == (100, 0)
        assert not session.trust_env


async def test_the_clients_limits_reach_its_session(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = make_client(sandbox, connection_limit=3, connection_limit_per_host=2)
    await client.folders.list().collect()

    connector = pipeline(client).open().connector
    assert connector is not None
    assert (connector.limit, connector.limit_per_host) == (3, 2)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"connection_limit": -1}, "connection_limit must be"),
        ({"connection_limit_per_host": -5}, "connection_limit_per_host must be"),
        ({"connection_limit": 2.5}, "connection_limit must be"),
        ({"connection_limit": True}, "connection_limit must be"),
        ({"trust_env": "yes"}, "trust_env must be True or False"),
        ({"ssl": 443}, "ssl must be"),
        ({"ssl": ""}, "no CA bundle"),
        ({"ssl": "/nonexistent/ca.pem"}, "no CA bundle"),
    ],
)
def test_bad_settings_raise_configuration_error(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        NetworkSettings(**settings)


def test_a_file_that_is_no_ca_bundle_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate\n", encoding="utf-8")

    with pytest.raises(ConfigurationError, match="cannot read the CA bundle"):
        NetworkSettings(ssl=bundle)


def test_the_client_refuses_bad_settings_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="connection_limit"):
        CliquifyClient("id", "secret", connection_limit=-1)


async def test_settings_a_given_session_would_ignore_are_refused() -> None:
    async with aiohttp.ClientSession() as session:
        check_session_settings(NetworkSettings(), session)
        check_session_settings(NetworkSettings(trust_env=True), None)
        with pytest.raises(ConfigurationError, match=r"^trust_env, connection_limit apply"):
            check_session_settings(NetworkSettings(trust_env=True, connection_limit=5), session)


async def test_the_client_refuses_network_settings_with_a_session() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ConfigurationError, match="ssl apply to a session the client makes"):
            CliquifyClient("id", "secret", session=session, ssl=False)
