"""Exception → sentence: what the window says when something fails.

The words come from the core: every typed exception of :mod:`nexavpn_client.errors` carries its
``default_message``, and the CLI prints the same sentences. The desktop used to keep a second
table of its own wording, which drifted from the core's; it now has none, so a change of
wording is made once, in ``errors.py``, and both front ends follow. What the desktop decides
is only *which* words to show: a class's generic sentence, or (for the few classes whose
message carries specifics only the core knows: the tool's stderr, which validation rule
failed, the new fingerprint) the core's specific message. Tests guard that no desktop module
brings back its own text for an error class (``tests/desktop/test_messages.py``).
"""

from __future__ import annotations

import logging

from nexavpn_client import errors

log = logging.getLogger(__name__)


def sentence_for(cls: type[errors.ClientError]) -> str:
    """The core's generic sentence for an error class (the most specific one it words)."""
    return cls.default_message


#: Classes whose own message carries specifics the user needs (which rule, which tool said
#: what, which fingerprint): when the core gave a specific message, it is shown as well.
_WITH_CORE_DETAIL: tuple[type[BaseException], ...] = (
    errors.UsageError,
    errors.TunnelError,
    errors.PinMismatch,
    errors.ProtocolError,
    errors.ServerError,
    errors.StorageError,
    errors.SignInCancelled,
    errors.TunnelInUse,
)

UNEXPECTED = "Something unexpected went wrong. The details are in the log file."


def message_for(exc: BaseException) -> str:
    """The sentence the window shows for ``exc`` (the core's words; unknown ones are logged)."""
    if not isinstance(exc, errors.ClientError):
        log.error("unexpected error", exc_info=exc)
        return UNEXPECTED
    sentence = sentence_for(type(exc))
    if isinstance(exc, errors.RateLimited):
        return errors.rate_limited_sentence(exc.retry_after)
    if isinstance(exc, errors.CommandFailed):
        return f"{sentence} ({exc.message})"
    if isinstance(exc, _WITH_CORE_DETAIL):
        own = exc.message
        if own and own != sentence:
            return own
    return sentence


def clears_password(exc: BaseException) -> bool:
    """Only a wrong password empties the password field (every other error keeps it)."""
    return isinstance(exc, errors.InvalidCredentials)


def fingerprint_of(exc: BaseException) -> str | None:
    """The certificate fingerprint a TLS trust error carries (to show and confirm), if any."""
    if isinstance(exc, errors.CertificateUntrusted | errors.PinMismatch):
        return exc.fingerprint
    return None
