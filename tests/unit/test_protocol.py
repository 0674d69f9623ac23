"""Unit tests of the pure wire rules in cliquify_async._wire (docs/contract.md §2 and §5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from cliquify_async import errors
from cliquify_async._redact import redact
from cliquify_async._wire import (
    DEFAULT_HEADERS,
    RETRYABLE_STATUSES,
    decode_json,
    error_for_response,
    parse_retry_after,
    reset_in,
    retry_after_from,
    unwrap,
    user_agent,
)

URL = "https://oauth.cliquify.me/api/assets"
NOW = datetime(2026, 4, 9, 14, 0, 0, tzinfo=UTC)


def make_error(
    status: int, body: Any, headers: dict[str, str] | None = None, *, method: str = "GET"
) -> errors.APIStatusError:
    text = body if isinstance(body, str) else json.dumps(body)
    return error_for_response(status, text, headers or {}, method=method, url=URL)


# --- parse_retry_after ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("1", 1.0),
        ("30", 30.0),
        (" 30 ", 30.0),
        ("120", 120.0),
        ("1.5", 1.5),
        ("0.25", 0.25),
    ],
)
def test_parse_retry_after_delta_seconds(value: str, expected: float) -> None:
    assert parse_retry_after(value) == expected


@pytest.mark.parametrize("value", ["-1", "-0.5", "-3600"])
def test_parse_retry_after_negative_is_clamped_to_zero(value: str) -> None:
    assert parse_retry_after(value) == 0.0


@pytest.mark.parametrize(
    "value", ["inf", "-inf", "Infinity", "nan", "NaN", "1e400", "soon", "", "   ", "abc123"]
)
def test_parse_retry_after_unusable_is_none(value: str) -> None:
    assert parse_retry_after(value) is None


def test_parse_retry_after_none() -> None:
    assert parse_retry_after(None) is None


def test_parse_retry_after_http_date_in_future() -> None:
    when = NOW + timedelta(seconds=90)
    assert parse_retry_after(format_datetime(when, usegmt=True), now=NOW) == 90.0


def test_parse_retry_after_http_date_rfc_example() -> None:
    now = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 60.0


def test_parse_retry_after_http_date_with_offset() -> None:
    # 16:01:00 +0200 is 14:01:00 UTC: one minute after NOW.
    assert parse_retry_after("Thu, 09 Apr 2026 16:01:00 +0200", now=NOW) == 60.0


def test_parse_retry_after_http_date_without_zone_is_utc() -> None:
    # "-0000" means "no zone information": parsedate_to_datetime returns a naive datetime.
    assert parse_retry_after("Thu, 09 Apr 2026 14:00:30 -0000", now=NOW) == 30.0


def test_parse_retry_after_http_date_in_past_is_zero() -> None:
    when = NOW - timedelta(hours=1)
    assert parse_retry_after(format_datetime(when, usegmt=True), now=NOW) == 0.0


@pytest.mark.parametrize(
    "value",
    [
        "Mon, 01 Jan 10000 00:00:00 GMT",
        "Mon, 31 Feb 2020 00:00:00 GMT",
        "Mon, 01 Jan 2020 25:00:00 GMT",
        "Mon, 01 Jan 2020 00:00:00 +99999",
        "Wed, 21 Oct",
    ],
)
def test_parse_retry_after_broken_http_date_is_none(value: str) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_parse_retry_after_default_now_is_current_time() -> None:
    when = datetime.now(UTC) + timedelta(seconds=600)
    wait = parse_retry_after(format_datetime(when, usegmt=True))
    assert wait is not None
    assert 590 <= wait <= 600


# --- decode_json ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"message": "Unauthenticated."}', {"message": "Unauthenticated."}),
        ("[1, 2]", [1, 2]),
        ("3", 3),
        ('"x"', "x"),
        ("  {}  ", {}),
        ("", None),
        ("   \n\t", None),
        ("<html><body>502 Bad Gateway</body></html>", None),
        ("{not json", None),
        ("null", None),
    ],
)
def test_decode_json(text: str, expected: Any) -> None:
    assert decode_json(text) == expected


def test_decode_json_invalid_utf8_surrogate_text() -> None:
    assert decode_json("\udcff") is None


# --- error_for_response: the token endpoint (§2) ----------------------------------------

INVALID_CLIENT_BODY = {
    "success": False,
    "message": "Client authentication failed. Check client ID/secret.",
    "details": {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
        "message": "Client authentication failed",
    },
}


def test_401_invalid_client() -> None:
    exc = make_error(401, INVALID_CLIENT_BODY, method="POST")
    assert type(exc) is errors.InvalidClientError
    assert isinstance(exc, errors.AuthenticationError)
    assert exc.message == "Client authentication failed. Check client ID/secret."
    assert exc.code == "invalid_client"
    assert exc.status == 401
    assert exc.body == INVALID_CLIENT_BODY
    assert exc.method == "POST"
    assert exc.url == URL


def test_401_invalid_client_by_code_alone() -> None:
    body = {"success": False, "message": "Nope.", "details": {"error": "invalid_client"}}
    exc = make_error(401, body)
    assert type(exc) is errors.InvalidClientError
    assert exc.message == "Nope."


def test_401_invalid_client_by_message_alone() -> None:
    body = {"success": False, "message": "Client authentication failed. Check client ID/secret."}
    exc = make_error(401, body)
    assert type(exc) is errors.InvalidClientError
    assert exc.code is None


def test_403_inactive_enterprise() -> None:
    exc = make_error(403, {"success": False, "message": "Inactive enterprise."})
    assert type(exc) is errors.InactiveEnterpriseError
    assert isinstance(exc, errors.PermissionDeniedError)
    assert exc.message == "Inactive enterprise."
    assert exc.code is None


def test_400_bad_request() -> None:
    body = {"success": False, "message": "access token invalid or expired"}
    exc = make_error(400, body)
    assert type(exc) is errors.BadRequestError
    assert exc.message == "access token invalid or expired"


def test_422_bare_validation_shape() -> None:
    body = {"client_id": ["The client id field is required."]}
    exc = make_error(422, body)
    assert type(exc) is errors.ValidationError
    assert isinstance(exc, errors.ValidationError)
    assert exc.errors == {"client_id": ["The client id field is required."]}
    assert exc.message == "The client id field is required."
    assert exc.body == body


def test_422_bare_validation_shape_several_fields() -> None:
    body = {
        "client_id": ["The client id field is required."],
        "client_secret": ["The client secret field is required.", "It must be a string."],
    }
    exc = make_error(422, body)
    assert type(exc) is errors.ValidationError
    assert exc.errors == body
    assert exc.message == "The client id field is required."


def test_422_laravel_wrapped_validation() -> None:
    body = {
        "message": "The per page field must be an integer. (and 1 more error)",
        "errors": {
            "per_page": ["The per page field must be an integer."],
            "page": ["The page field must be at least 1."],
        },
    }
    exc = make_error(422, body)
    assert type(exc) is errors.ValidationError
    assert exc.message == "The per page field must be an integer. (and 1 more error)"
    assert exc.errors == body["errors"]


def test_422_success_false_with_details() -> None:
    body = {
        "success": False,
        "message": "Validation failed.",
        "details": {"client_secret": ["The client secret field is required."]},
    }
    exc = make_error(422, body, method="POST")
    assert type(exc) is errors.ValidationError
    assert exc.message == "Validation failed."
    assert exc.errors == {"client_secret": ["The client secret field is required."]}


# --- error_for_response: introspect and revoke (§2) -------------------------------------


def test_422_invalid_or_expired_token() -> None:
    body = {"success": False, "message": "Invalid or expired token.", "data": None}
    exc = make_error(422, body, method="POST")
    assert type(exc) is errors.InvalidTokenError
    assert isinstance(exc, errors.ValidationError)
    assert exc.message == "Invalid or expired token."
    assert exc.errors == {}


def test_422_token_not_found() -> None:
    body = {"success": False, "message": "Token not found.", "data": None}
    exc = make_error(422, body, method="POST")
    assert type(exc) is errors.TokenNotFoundError
    assert isinstance(exc, errors.ValidationError)
    assert exc.message == "Token not found."


def test_422_token_required_is_plain_validation_error() -> None:
    body = {"success": False, "message": "Token required.", "data": None}
    exc = make_error(422, body, method="POST")
    assert type(exc) is errors.ValidationError
    assert exc.message == "Token required."
    assert exc.errors == {}


# --- error_for_response: /api/* (§5) ----------------------------------------------------


def test_401_unauthenticated_is_not_invalid_client() -> None:
    exc = make_error(401, {"message": "Unauthenticated."})
    assert type(exc) is errors.AuthenticationError
    assert not isinstance(exc, errors.InvalidClientError)
    assert exc.message == "Unauthenticated."


def test_403_insufficient_scope() -> None:
    exc = make_error(403, {"message": "Token does not have the required scope."})
    assert type(exc) is errors.InsufficientScopeError
    assert isinstance(exc, errors.PermissionDeniedError)
    assert exc.message == "Token does not have the required scope."


def test_403_other_message_is_plain_permission_denied() -> None:
    exc = make_error(403, {"message": "This action is unauthorized."})
    assert type(exc) is errors.PermissionDeniedError


def test_404_company_not_found() -> None:
    exc = make_error(404, {"message": "Company not found."})
    assert type(exc) is errors.CompanyNotFoundError
    assert isinstance(exc, errors.NotFoundError)
    assert exc.message == "Company not found."


def test_404_other_message_is_plain_not_found() -> None:
    exc = make_error(404, {"message": "Not Found"})
    assert type(exc) is errors.NotFoundError


@pytest.mark.parametrize(
    ("message", "cls"),
    [
        ("company not found", errors.CompanyNotFoundError),
        ("  Company   not found.  ", errors.CompanyNotFoundError),
        ("TOKEN DOES NOT HAVE THE REQUIRED SCOPE", errors.InsufficientScopeError),
        ("Inactive enterprise", errors.InactiveEnterpriseError),
    ],
)
def test_message_match_ignores_case_spacing_and_final_dot(
    message: str, cls: type[errors.APIStatusError]
) -> None:
    status = 404 if cls is errors.CompanyNotFoundError else 403
    exc = make_error(status, {"message": message})
    assert type(exc) is cls
    assert exc.message == message


def test_message_match_is_per_status() -> None:
    # "Company not found." on a 403 is not a CompanyNotFoundError.
    exc = make_error(403, {"message": "Company not found."})
    assert type(exc) is errors.PermissionDeniedError


def test_429_with_retry_after() -> None:
    headers = {"Retry-After": "37", "X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0"}
    exc = make_error(429, {"message": "Too Many Attempts."}, headers)
    assert type(exc) is errors.RateLimitError
    assert exc.retry_after == 37.0
    assert exc.message == "Too Many Attempts."
    assert exc.headers["x-ratelimit-limit"] == "60"


def test_429_with_http_date_retry_after() -> None:
    when = datetime.now(UTC) + timedelta(seconds=300)
    headers = {"Retry-After": format_datetime(when, usegmt=True)}
    exc = make_error(429, {"message": "Too Many Attempts."}, headers)
    assert isinstance(exc, errors.RateLimitError)
    assert exc.retry_after is not None
    assert 290 <= exc.retry_after <= 300


@pytest.mark.parametrize("headers", [{}, {"Retry-After": "whenever"}, {"Retry-After": "inf"}])
def test_429_without_usable_retry_after(headers: dict[str, str]) -> None:
    exc = make_error(429, {"message": "Too Many Attempts."}, headers)
    assert isinstance(exc, errors.RateLimitError)
    assert exc.retry_after is None


def test_headers_are_case_insensitive_on_the_exception() -> None:
    exc = make_error(503, "", {"Retry-After": "5"})
    assert exc.headers["retry-after"] == "5"
    assert exc.headers["RETRY-AFTER"] == "5"


def test_429_lowercase_retry_after_in_plain_dict() -> None:
    exc = make_error(429, {"message": "Too Many Attempts."}, {"retry-after": "5"})
    assert isinstance(exc, errors.RateLimitError)
    assert exc.retry_after == 5.0


@pytest.mark.parametrize("status", [502, 503, 504])
def test_5xx_html_body_keeps_text(status: int) -> None:
    html = (
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
        "<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    exc = make_error(status, html)
    assert type(exc) is errors.ServerError
    assert exc.status == status
    assert exc.body == html
    assert exc.message == "502 Bad Gateway"  # the page's title
    assert exc.code is None


def test_5xx_plain_text_is_the_message_on_one_line() -> None:
    exc = make_error(503, "  Service Unavailable\nretry later\n")
    assert type(exc) is errors.ServerError
    assert exc.message == "Service Unavailable retry later"
    assert exc.body == "  Service Unavailable\nretry later\n"


def test_long_text_message_is_truncated_but_body_kept() -> None:
    text = "x" * 1000
    exc = make_error(500, text)
    assert exc.message == "x" * 200 + "..."
    assert exc.body == text


def test_500_json_message() -> None:
    exc = make_error(500, {"message": "Server Error"})
    assert type(exc) is errors.ServerError
    assert exc.message == "Server Error"


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_body(text: str) -> None:
    exc = make_error(503, text)
    assert type(exc) is errors.ServerError
    assert exc.message == "HTTP 503"
    assert exc.body == text


def test_empty_body_401() -> None:
    exc = make_error(401, "")
    assert type(exc) is errors.AuthenticationError
    assert exc.message == "HTTP 401"


def test_code_invalid_access_token_is_kept() -> None:
    body = {"code": "invalid_access_token", "message": "The access token is invalid."}
    exc = make_error(401, body)
    assert type(exc) is errors.AuthenticationError
    assert exc.code == "invalid_access_token"
    assert exc.message == "The access token is invalid."


def test_top_level_code_wins_over_details_error() -> None:
    body = {"code": "invalid_access_token", "message": "x", "details": {"error": "other"}}
    assert make_error(400, body).code == "invalid_access_token"


@pytest.mark.parametrize("status", [418, 409, 302, 451, 499])
def test_unknown_status_is_plain_api_status_error(status: int) -> None:
    exc = make_error(status, {"message": "I'm a teapot"})
    assert type(exc) is errors.APIStatusError
    assert exc.status == status
    assert exc.message == "I'm a teapot"


@pytest.mark.parametrize("status", [500, 501, 505, 520, 599])
def test_any_5xx_is_server_error(status: int) -> None:
    assert type(make_error(status, "")) is errors.ServerError


def test_non_object_json_body() -> None:
    exc = make_error(500, [1, 2, 3])
    assert type(exc) is errors.ServerError
    assert exc.body == [1, 2, 3]
    assert exc.message == "[1, 2, 3]"


def test_json_null_body_keeps_text() -> None:
    exc = make_error(500, "null")
    assert exc.body == "null"


def test_empty_message_falls_back_to_text() -> None:
    exc = make_error(400, {"message": ""})
    assert exc.message == '{"message": ""}'


def test_exception_str_has_status_message_method_and_url() -> None:
    exc = make_error(404, {"message": "Company not found."})
    assert str(exc) == f"404 Company not found. (GET {URL})"


def test_exception_text_shows_the_message_not_the_rest_of_the_body() -> None:
    # A server that echoes the submitted fields back must not put them in logs via str().
    body = {**INVALID_CLIENT_BODY, "details": {"client_secret": "s3cr3t-value"}}
    exc = make_error(401, body, method="POST")
    assert "client_secret" not in str(exc)
    assert "s3cr3t-value" not in str(exc)
    assert "s3cr3t-value" not in repr(exc)


def test_error_for_response_survives_deeply_nested_text() -> None:
    exc = make_error(502, "[" * 100_000)
    assert isinstance(exc, errors.ServerError)


# --- small constants ----------------------------------------------------------------------


def test_retryable_statuses() -> None:
    assert frozenset({408, 429, 500, 502, 503, 504}) == RETRYABLE_STATUSES


def test_default_headers_ask_for_json() -> None:
    assert DEFAULT_HEADERS["Accept"] == "application/json"
    assert user_agent(None).startswith("cliquify-async/")  # sent beside them


# --- unwrap -------------------------------------------------------------------------------

TOKEN = {"token_type": "Bearer", "expires_in": 31536000, "access_token": "eyJ0eXAi.x.y"}


def test_unwrap_wrapped_token() -> None:
    assert unwrap({"success": True, "token": TOKEN}, "token") == TOKEN


def test_unwrap_bare_token() -> None:
    assert unwrap(TOKEN, "token") == TOKEN


def test_unwrap_introspect_data() -> None:
    data = {"active": True, "client_id": "a1b2c3d4e5f6g7h8", "user_id": None}
    assert unwrap({"success": True, "message": "", "data": data}, "data") == data


@pytest.mark.parametrize(
    "body",
    [
        {"success": True, "message": "Token successfully revoked.", "data": None},
        {"data": [1, 2]},
        {"data": "x"},
        [1, 2],
        None,
        "text",
    ],
)
def test_unwrap_without_object_under_key_returns_body(body: Any) -> None:
    assert unwrap(body, "data") is body


# --- alternatives the contract allows ------------------------------------------------------


def test_passports_own_invalid_client_body_is_invalid_client() -> None:
    body = {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
        "message": "Client authentication failed",
    }
    exc = make_error(401, body)
    assert type(exc) is errors.InvalidClientError
    assert exc.code == "invalid_client"


def test_a_429_without_retry_after_waits_until_x_ratelimit_reset() -> None:
    now = 1_765_000_000.0
    assert retry_after_from({"X-RateLimit-Reset": "1765000030"}, now=now) == 30.0
    assert retry_after_from({"X-RateLimit-Reset": "1764999990"}, now=now) == 0.0
    assert retry_after_from({"Retry-After": "5", "X-RateLimit-Reset": "1765000030"}, now=0) == 5.0
    assert retry_after_from({"X-RateLimit-Reset": "soon"}) is None
    assert retry_after_from({}) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1765000030", 30.0),  # unix time, as Laravel and GitHub send it
        ("1765000000.5", 0.5),
        ("30", 30.0),  # seconds from now, as the IETF RateLimit draft sends it
        ("0.25", 0.25),
        ("0", 0.0),
        ("1764999000", 0.0),  # already past
        ("-3", None),
        ("nan", None),
        ("inf", None),
        ("", None),
        (None, None),
    ],
)
def test_x_ratelimit_reset_is_unix_time_or_seconds_from_now(
    value: str | None, seconds: float | None
) -> None:
    assert reset_in(value, now=1_765_000_000.0) == seconds


def test_redact_masks_token_values_and_jwts() -> None:
    text = '{"access_token":"abc123","token":"t-1","client_secret":"s3","other":"keep"} eyJa.eyJb.c'
    redacted = redact(text)
    for secret in ("abc123", "t-1", "s3", "eyJa.eyJb.c"):
        assert secret not in redacted
    assert '"other":"keep"' in redacted
