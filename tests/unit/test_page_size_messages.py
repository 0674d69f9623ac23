"""Unit tests of size_refused: the page-size cap read from a 422's per_page messages."""

from __future__ import annotations

import time

import pytest

from cliquify_async._pagination.page_size import FALLBACK, size_refused
from cliquify_async.errors import ValidationError


def validation_error(*messages: str, field: str = "per_page") -> ValidationError:
    """A 422 whose `field` carries `messages`, built as _wire builds one from Laravel's body."""
    body = {"message": messages[0] if messages else "", "errors": {field: list(messages)}}
    return ValidationError(
        messages[0] if messages else "invalid",
        errors={field: list(messages)},
        status=422,
        body=body,
        method="GET",
        url="https://oauth.cliquify.me/api/assets?per_page=1000",
    )


def refused(*messages: str, field: str = "per_page") -> int | None:
    """size_refused for a 422 whose `field` carries `messages`."""
    return size_refused(validation_error(*messages, field=field))


@pytest.mark.parametrize(
    ("message", "cap"),
    [
        # max:N
        ("The per page field must not be greater than 500.", 500),
        ("The per page must not be greater than 500.", 500),
        ("The per page may not be greater than 500.", 500),
        # between:A,B (the upper bound, not the first number)
        ("The per page field must be between 1 and 500.", 500),
        ("The per page must be between 10 and 250.", 250),
        ("The per page must be between -5 and 250.", 250),
        # lte:N, with and (before Laravel 9) without "to"
        ("The per page field must be less than or equal to 300.", 300),
        ("The per page must be less than or equal 300.", 300),
        # lt:N: the largest integer below it
        ("The per page field must be less than 200.", 199),
        ("The per page must be less than 200.", 199),
        # digits_between:A,B, digits:N, max_digits:N: the largest integer of that many digits
        ("The per page field must be between 1 and 3 digits.", 999),
        ("The per page must be between 1 and 2 digits.", 99),
        ("The per page field must be 2 digits.", 99),
        ("The per page must be 3 digits.", 999),
        ("The per page field must not have more than 3 digits.", 999),
        ("The per page must not have more than 2 digits.", 99),
        # size:N
        ("The per page field must be 50.", 50),
        ("The per page must be 50.", 50),
        # a custom attribute name, or none, or one with numbers of its own
        ("The page size field must be between 1 and 500.", 500),
        ("The per_page field must not be greater than 400.", 400),
        ("Items per request (1-2) must be between 1 and 700.", 700),
        ("must be less than or equal to 250", 250),
        ("THE PER PAGE FIELD MUST NOT BE GREATER THAN 600.", 600),
        ("The per page field must be between 1 and 500 (50 recommended).", 500),
        # a custom message naming its maximum, read as before
        ("The maximum per_page is 250; the maximum is 250.", 250),
    ],
)
def test_the_cap_each_rule_states(message: str, cap: int) -> None:
    assert refused(message) == cap


def test_the_smallest_cap_of_several_messages_wins() -> None:
    messages = (
        "The per page field must be between 1 and 500.",
        "The per page field must be less than or equal to 300.",
        "The per page field must not have more than 3 digits.",
    )
    assert refused(*messages) == 300


def test_a_lower_bound_is_skipped_for_the_cap_another_message_states() -> None:
    messages = (
        "The per page field must be at least 1000.",
        "The per page field must be greater than 2000.",
        "The per page field must be greater than or equal to 3000.",
        "The per page field must have more than 4000 items.",
        "The per page field must not be greater than 250.",
    )
    assert refused(*messages) == 250


@pytest.mark.parametrize(
    "message",
    [
        "The per page field must be at least 1.",
        "The per page must be greater than 0.",
        "The per page field must be greater than or equal to 10.",
        "The per page field must have at least 5 digits.",
    ],
)
def test_a_lower_bound_alone_falls_back(message: str) -> None:
    assert refused(message) == FALLBACK


@pytest.mark.parametrize(
    "message",
    [
        "The selected per page is invalid.",
        "The per page field must be an integer.",
        "The per page field must not be greater than many.",
        "",
        "The per page field must be less than 1.",  # no integer page size under 1
        "The per page field must be 0.",
        "The per page field must be 0 digits.",
        "The per page field must not be greater than 1000000000.",  # ten digits: absurd
        "The per page field must be between 1 and 10 digits.",  # 10**10 - 1: past nine digits
        "The per page field must be 5000000000000 digits.",
    ],
)
def test_no_usable_number_falls_back(message: str) -> None:
    assert refused(message) == FALLBACK


def test_no_message_at_all_falls_back() -> None:
    assert refused("The selected per page is invalid.", "The per page field is required.") == (
        FALLBACK
    )


def test_a_422_not_about_per_page_is_none() -> None:
    assert refused("The name field must not be greater than 255.", field="name") is None
    assert refused(field="per_page") is None  # the field named, no message


@pytest.mark.parametrize(
    "message",
    [
        "The per page field must not be greater than \uff15\uff10\uff10.",  # fullwidth 500
        "The per page field must be between 1 and \u0665\u0660\u0660.",  # Arabic-Indic 500
        "The per page field must not be greater than 50\uff10.",  # ASCII then a fullwidth 0
        "The per page field must be \u00b9\u00b2 digits.",  # superscripts
    ],
)
def test_non_ascii_digits_are_no_number(message: str) -> None:
    assert refused(message) == FALLBACK


def test_a_hostile_megabyte_message_returns_promptly() -> None:
    hostile = [
        "must be between 1 and " * 50_000,
        "must not be greater than " + "9" * 2**20,
        " " * 2**20 + "must be 5",
        "must " * 200_000 + "be less than 7",
        "1 " * 2**19,
    ]
    built = [validation_error(message) for message in hostile]  # redacting them takes time
    started = time.perf_counter()
    caps = [size_refused(exc) for exc in built]
    assert time.perf_counter() - started < 0.1  # about 0.1 ms here: only a head is scanned
    assert caps == [FALLBACK] * len(hostile)


def test_a_cap_past_the_scanned_head_is_not_read() -> None:
    assert refused("x. " * 200 + "The per page field must not be greater than 500.") == FALLBACK


def test_the_whole_sentences_of_a_long_message_are_read() -> None:
    message = "The per page field must be between 1 and 500. " + "x" * 2**20
    assert refused(message) == 500


def test_a_number_or_unit_the_scan_cuts_through_is_not_read_short() -> None:
    start = "The per page field must not be greater than "
    pad = " " * (500 - len(start) - 3)  # the cut falls inside "250000"
    assert refused(pad + start + "250000 indeed, " + "x" * 100) == FALLBACK
    pad = " " * (500 - len("The per page field must be 3 digi"))  # ... inside "digits"
    assert refused(pad + "The per page field must be 3 digits, " + "x" * 100) == FALLBACK


@pytest.mark.parametrize(
    "message",
    [
        "The per page field must not be greater than 1,000.",  # not 1
        "The per page field must be less than 10.5.",  # not 10
        "The per page field must be between 1 and 2.000.",
    ],
)
def test_a_number_that_goes_on_past_a_separator_is_no_number(message: str) -> None:
    assert refused(message) == FALLBACK
