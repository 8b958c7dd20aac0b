"""Exception → sentence: every core error gets the core's words, only a wrong password clears."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import nexavpn_desktop
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
    assert messages.sentence_for(cls) == cls.default_message
    assert "default_message" in vars(cls), f"{cls.__name__} has no wording of its own in errors.py"
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
        errors.InvalidCredentials.default_message)


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


# ------------------------------------------------------------------ one source of wording


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_the_window_shows_the_cores_words(cls):
    """Without specifics, the window says exactly what the core (and so the CLI) says."""
    if cls is errors.MfaRequired:
        exc = cls("mfa-token")
    elif cls is errors.CommandFailed:
        return  # always carries the tool's own words; checked in test_core_detail_is_kept
    else:
        exc = cls()
    expected = (errors.rate_limited_sentence(None) if cls is errors.RateLimited
                else cls.default_message)
    assert messages.message_for(exc) == expected


def _desktop_modules():
    for info in pkgutil.walk_packages(nexavpn_desktop.__path__, "nexavpn_desktop."):
        yield importlib.import_module(info.name)


def test_no_desktop_module_keeps_a_table_of_error_wording():
    """A mapping from a core error class to text anywhere in the desktop is a second source."""
    offenders = []
    for module in _desktop_modules():
        for name, value in vars(module).items():
            if isinstance(value, dict) and any(
                    isinstance(k, type) and issubclass(k, errors.ClientError)
                    and isinstance(v, str) for k, v in value.items()):
                offenders.append(f"{module.__name__}.{name}")
    assert offenders == [], f"error wording belongs in nexavpn_client/errors.py: {offenders}"


def _error_class_names() -> set[str]:
    return {cls.__name__ for cls in ALL_ERRORS}


def _wording_pairs(tree: ast.AST, names: set[str]) -> list[tuple[int, str]]:
    """(line, class name) of every ``{errors.X: "text"}`` or ``{X: f"text"}`` entry."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            key_name = (key.attr if isinstance(key, ast.Attribute)
                        else key.id if isinstance(key, ast.Name) else None)
            is_text = ((isinstance(value, ast.Constant) and isinstance(value.value, str))
                       or isinstance(value, ast.JoinedStr))
            if key_name in names and is_text:
                found.append((node.lineno, key_name))
    return found


def test_no_desktop_source_pairs_an_error_class_with_its_own_text():
    """Also catches tables built inside functions, which the module scan cannot see."""
    names = _error_class_names()
    root = Path(nexavpn_desktop.__file__).parent
    offenders = [
        f"{path.relative_to(root)}:{line} {name}"
        for path in sorted(root.rglob("*.py"))
        for line, name in _wording_pairs(ast.parse(path.read_text(encoding="utf-8")), names)
    ]
    assert offenders == [], f"error wording belongs in nexavpn_client/errors.py: {offenders}"


def test_the_source_guard_catches_the_old_table():
    """The guard is not vacuous: the shape of the table the desktop used to keep is caught."""
    tree = ast.parse('MESSAGES = {errors.ClientError: "x", errors.InvalidCredentials: '
                     '"Wrong user name or password.", InvalidMfaCode: f"{1}"}')
    assert [name for _line, name in _wording_pairs(tree, _error_class_names())] == [
        "ClientError", "InvalidCredentials", "InvalidMfaCode"]
