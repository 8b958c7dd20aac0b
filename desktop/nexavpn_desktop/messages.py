"""Exception → sentence: the one table that decides what the window says when something fails.

The core's typed exceptions (:mod:`nexavpn_client.errors`) say in user terms what went wrong;
this table picks the sentence the window shows for each, looked up along the exception's class
hierarchy (the most specific class wins). A few classes carry words only the core knows (the
tool's stderr, which validation rule failed, the new fingerprint): for those the core's own
message is shown instead of the generic sentence.
"""

from __future__ import annotations

import logging

from nexavpn_client import errors

log = logging.getLogger(__name__)

MESSAGES: dict[type[BaseException], str] = {
    errors.ClientError: "Something went wrong in NexaVPN. Try again.",
    # Input / local state
    errors.UsageError: "That cannot be done right now.",
    errors.InvalidServerUrl: "The server address is not valid.",
    errors.InsecureServerUrl: (
        "The server address must start with https:// — NexaVPN never sends your password "
        "over an unencrypted connection."
    ),
    errors.InvalidFingerprint: (
        "That is not a certificate fingerprint: it must be 64 hexadecimal digits."
    ),
    errors.NotLoggedIn: "You are signed out. Sign in to continue.",
    errors.NotEnrolled: "This computer is not registered yet. Sign in to register it.",
    errors.StorageError: "Your secure storage (keyring) could not be used on this computer.",
    errors.ProfileCorrupt: (
        "The saved VPN profile cannot be read. Sign in again to download a fresh copy."
    ),
    # Reaching the server
    errors.ServerUnreachable: "The server could not be reached. Check your network.",
    errors.DnsLookupFailed: (
        "The server name could not be found. Check the address for typos and your internet "
        "connection."
    ),
    errors.ConnectionRefused: (
        "The server refused the connection: the address or port may be wrong, or the NexaVPN "
        "service is not running."
    ),
    errors.ServerTimeout: (
        "The server did not answer in time. It may be down, or a firewall may block it."
    ),
    errors.TlsError: "A secure connection to the server could not be established.",
    errors.CertificateUntrusted: (
        "This server's certificate is not trusted by your computer. Compare its fingerprint "
        "with the one your administrator gave you before trusting it."
    ),
    errors.CertificateExpired: (
        "The server's certificate has expired (or this computer's clock is wrong). Tell your "
        "administrator."
    ),
    errors.HostnameMismatch: (
        "The server's certificate was issued for a different name than the address you "
        "entered. Check the address: someone may be impersonating the server."
    ),
    errors.PinMismatch: (
        "The server's certificate is not the one you trusted. Do not continue unless your "
        "administrator confirms the new fingerprint."
    ),
    errors.NotNexaVpnServer: (
        "Something answers at that address, but it is not a NexaVPN server. Check the address "
        "with your administrator."
    ),
    # Answers of the server
    errors.ApiError: "The server refused the request.",
    errors.InvalidCredentials: "Wrong user name or password.",
    errors.UserDisabled: "Your account is disabled. Contact your administrator.",
    errors.RateLimited: "Too many sign-in attempts. Wait a little, then try again.",
    errors.MfaRequired: "Enter the 6-digit code from your authenticator app.",
    errors.MfaSetupRequired: (
        "Your organisation requires two-factor sign-in and it is not set up for your account "
        "yet. Sign in on your NexaVPN server's web page and set up your authenticator app "
        "there, then sign in here again."
    ),
    errors.InvalidMfaCode: (
        "That two-factor code is wrong or was already used. Wait for the next code and try "
        "again."
    ),
    errors.SessionBoundToDevice: (
        "This sign-in belongs to another device. Sign out and sign in again on this computer."
    ),
    errors.PublicKeyRevoked: (
        "This device key was revoked and cannot be used again. Register this computer again "
        "to make a new key."
    ),
    errors.SignInCancelled: "Signing in with your organisation's account did not finish.",
    errors.KeyMismatch: (
        "The server has a different key for this device than this installation (another "
        "installation on this computer re-registered it, or a backup was restored). The new "
        "profile was not applied. Register this installation again to use it here."
    ),
    errors.PendingApproval: (
        "This device waits for an administrator's approval; it can connect once approved."
    ),
    errors.TunnelInUse: "Another NexaVPN program on this computer already manages the tunnel.",
    errors.SessionExpired: "Your session has ended. Sign in again.",
    errors.PermissionDenied: "Your account is not allowed to do this.",
    errors.DeviceLimitReached: (
        "You already have the maximum number of devices. Remove an old one or ask your "
        "administrator."
    ),
    errors.NoActiveGateway: (
        "No VPN gateway is online right now, so this computer cannot be set up. Try again "
        "later."
    ),
    errors.IpPoolExhausted: (
        "The VPN has no free addresses left for a new device. Contact your administrator."
    ),
    errors.PublicKeyInUse: "This device key is already in use. Try again to make a new one.",
    errors.DeviceRevoked: (
        "This device was revoked by an administrator and can no longer connect."
    ),
    errors.ServerError: "The server had a problem. Try again later.",
    errors.ProtocolError: (
        "The server's answer could not be understood; the app and the server versions may "
        "not match."
    ),
    # Tunnel
    errors.TunnelError: "The VPN tunnel could not be changed on this computer.",
    errors.BackendUnavailable: "No way to run the VPN tunnel is usable on this computer.",
    errors.CommandFailed: "A system tool needed for the VPN failed.",
}

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


def _table_sentence(exc: BaseException) -> str | None:
    for cls in type(exc).__mro__:
        if cls in MESSAGES:
            return MESSAGES[cls]
    return None


def message_for(exc: BaseException) -> str:
    """The sentence the window shows for ``exc``."""
    sentence = _table_sentence(exc)
    if sentence is None:
        log.error("unexpected error", exc_info=exc)
        return UNEXPECTED
    if isinstance(exc, errors.RateLimited):
        retry = exc.retry_after
        if retry:
            return f"Too many sign-in attempts. Try again in {errors.wait_words(retry)}."
        return sentence
    if isinstance(exc, errors.CommandFailed):
        return f"{sentence} ({exc.message})"
    if isinstance(exc, _WITH_CORE_DETAIL) and isinstance(exc, errors.ClientError):
        own = exc.message
        if own and own != type(exc).default_message and own != sentence:
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
