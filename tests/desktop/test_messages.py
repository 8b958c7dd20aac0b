"""The exception → sentence table: every core error gets words, only a wrong password clears."""

from __future__ import annotations

import inspect

import pytest

from nexavpn_client import errors
from nexavpn_desktop import messages

pytestmark = pytest.mark.gui

ALL_ERRORS = [
    cls for _n, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.ClientError)
]


def _make(cls):
    if cls is errors.CommandFailed:
        return cls(["wg", "show"], 1, "wg: permission denied\n")
    if cls is errors.MfaRequired:
        return cls("mfa-token")
    return cls()


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_core_error_has_its_own_sentence(cls):
    assert cls in messages.MESSAGES, f"{cls.__name__} has no sentence in messages.py"
    text = messages.message_for(_make(cls))
    assert text and text != messages.UNEXPECTED
    assert text.endswith((".", ")")), text


def test_specific_classes_beat_their_parents():
    refused = messages.message_for(errors.ConnectionRefused())
    timeout = messages.message_for(errors.ServerTimeout())
    generic = messages.message_for(errors.ServerUnreachable())
    assert len({refused, timeout, generic}) == 3
    assert "refused" in refused and "in time" in timeout


def test_unknown_exception_is_not_shown_raw():
    assert messages.message_for(RuntimeError("secret internals")) == messages.UNEXPECTED


def test_core_detail_is_kept_where_it_matters():
    exc = errors.CommandFailed(["wg", "setconf"], 1, "Line unrecognized: `Foo'\n")
    assert "Line unrecognized" in messages.message_for(exc)
    url = errors.InvalidServerUrl("The server address must not contain a fragment (#…).")
    assert "fragment" in messages.message_for(url)
    # An API error's own (server-side) words are not shown for a wrong password.
    assert messages.message_for(errors.InvalidCredentials("401 from server")) == (
        "Wrong user name or password.")


def test_rate_limit_says_how_long_to_wait():
    exc = errors.RateLimited(details={"retry_after": 42}, status=429, code="rate_limited")
    assert "42 seconds" in messages.message_for(exc)
    exc = errors.RateLimited(details={"retry_after": 300}, status=429, code="rate_limited")
    assert "Try again in 5 minutes." in messages.message_for(exc)
    assert "Wait a little" in messages.message_for(errors.RateLimited())


def test_only_a_wrong_password_clears_the_field():
    cleared = [cls.__name__ for cls in ALL_ERRORS if messages.clears_password(_make(cls))]
    assert cleared == ["InvalidCredentials"]


def test_fingerprint_is_taken_from_trust_errors():
    assert messages.fingerprint_of(errors.CertificateUntrusted(fingerprint="AB:CD")) == "AB:CD"
    assert messages.fingerprint_of(errors.PinMismatch(fingerprint="EF")) == "EF"
    assert messages.fingerprint_of(errors.ServerTimeout()) is None
