"""Typed exceptions of the client core; each docstring says in user terms what went wrong.

The GUI and the CLI turn these into sentences (``str(exc)`` is already one). Messages never
carry a secret: no token, no private key, no password.
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Something went wrong in the NexaVPN client."""

    #: The default sentence shown to a user when no specific message is given.
    default_message = "Something went wrong in the NexaVPN client."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


# ------------------------------------------------------------------ input / local state


class UsageError(ClientError):
    """The request itself is not usable (a bad argument or a step done out of order)."""

    default_message = "That request cannot be carried out."


class InvalidServerUrl(UsageError):
    """The server address is not a valid https:// URL."""

    default_message = "The server address is not valid."


class InsecureServerUrl(InvalidServerUrl):
    """The server address uses http://; NexaVPN only talks to servers over https://."""

    default_message = (
        "The server address must start with https:// — NexaVPN never sends your password "
        "over an unencrypted connection."
    )


class InvalidFingerprint(UsageError):
    """The certificate fingerprint typed in is not a SHA-256 fingerprint (64 hex digits)."""

    default_message = (
        "The certificate fingerprint must be a SHA-256 fingerprint: 64 hexadecimal digits, "
        "optionally separated by colons."
    )


class NotLoggedIn(ClientError):
    """You are not signed in to a NexaVPN server yet (or your session was removed)."""

    default_message = "You are not signed in. Sign in to your NexaVPN server first."


class NotEnrolled(UsageError):
    """This computer is not registered as a device yet."""

    default_message = "This computer is not registered yet. Register it (enroll) first."


class StorageError(ClientError):
    """The client could not read or write its secure storage on this computer."""

    default_message = "The secure storage on this computer could not be used."


class ProfileCorrupt(StorageError):
    """The saved VPN profile cannot be read (it was damaged or its key is gone)."""

    default_message = (
        "The saved VPN profile cannot be read. Register this computer again (enroll) to "
        "download a fresh copy."
    )


# ------------------------------------------------------------------ reaching the server


class ServerUnreachable(ClientError):
    """The server could not be reached over the network."""

    default_message = "The NexaVPN server could not be reached."


class DnsLookupFailed(ServerUnreachable):
    """The server's name could not be found (DNS); check the address or your network."""

    default_message = (
        "The server name could not be found. Check the address for typos and that you are "
        "connected to the internet."
    )


class ConnectionRefused(ServerUnreachable):
    """The server's computer answered, but nothing accepts connections on that port."""

    default_message = (
        "The server refused the connection. The address or port may be wrong, or the NexaVPN "
        "service is not running."
    )


class ServerTimeout(ServerUnreachable):
    """The server did not answer in time."""

    default_message = (
        "The server did not answer in time. It may be down, or a firewall may be blocking it."
    )


class TlsError(ClientError):
    """The secure (TLS) connection to the server could not be established safely."""

    default_message = "A secure connection to the server could not be established."


class CertificateUntrusted(TlsError):
    """The server's certificate is not signed by an authority this computer trusts.

    ``fingerprint`` holds the SHA-256 fingerprint of the certificate the server presented, so
    the user can compare it with the one their administrator gave them and pin it.
    """

    default_message = (
        "The server's certificate is not trusted by this computer. If your administrator "
        "uses a self-signed certificate, compare its fingerprint and trust it explicitly."
    )

    def __init__(self, message: str | None = None, fingerprint: str | None = None) -> None:
        super().__init__(message)
        self.fingerprint = fingerprint


class CertificateExpired(TlsError):
    """The server's certificate has expired (or is not valid yet; check the computer's clock)."""

    default_message = (
        "The server's certificate has expired or is not yet valid. Tell your administrator, "
        "and check that this computer's date and time are right."
    )


class HostnameMismatch(TlsError):
    """The server's certificate belongs to a different name than the address you typed."""

    default_message = (
        "The server's certificate was issued for a different name than the address you "
        "entered. Check the address; someone may be impersonating the server."
    )


class PinMismatch(TlsError):
    """The server's certificate is not the one you trusted (its fingerprint changed)."""

    default_message = (
        "The server's certificate is not the one you trusted earlier. If your administrator "
        "replaced it, trust the new fingerprint; otherwise someone may be impersonating the "
        "server."
    )

    def __init__(self, message: str | None = None, fingerprint: str | None = None) -> None:
        super().__init__(message)
        self.fingerprint = fingerprint


class NotNexaVpnServer(ClientError):
    """Something answers at that address, but it is not a NexaVPN server."""

    default_message = (
        "The address answers, but it is not a NexaVPN server. Check the address with your "
        "administrator."
    )


# ------------------------------------------------------------------ answers of the server


class ApiError(ClientError):
    """The server refused the request; ``code`` is the contract's machine-readable error code."""

    default_message = "The server refused the request."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str = "",
        status: int = 0,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.details = details or {}


class InvalidCredentials(ApiError):
    """The user name or the password is wrong."""

    default_message = "The user name or password is wrong."


class UserDisabled(ApiError):
    """Your account has been disabled by an administrator."""

    default_message = "Your account has been disabled. Contact your administrator."


class RateLimited(ApiError):
    """Too many attempts in a short time; ``retry_after`` says how long the server asks to wait."""

    default_message = "Too many attempts. Wait a little, then try again."

    @property
    def retry_after(self) -> int | None:
        """Seconds the server asked to wait (its Retry-After), if it said."""
        value = self.details.get("retry_after")
        return value if isinstance(value, int) and value > 0 else None


def wait_words(seconds: int) -> str:
    """``"5 minutes"``-style wording for a wait the server asked for (rounded up)."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = -(-minutes // 60)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def rate_limited_sentence(seconds: int | None) -> str:
    """The rate-limit sentence with the server's Retry-After in words."""
    if seconds:
        return f"Too many attempts. Try again in {wait_words(seconds)}."
    return RateLimited.default_message


class MfaRequired(ApiError):
    """The password was right; the account also needs a two-factor (TOTP) code.

    ``mfa_token`` (kept out of the message and the repr) goes back with the code to finish
    signing in.
    """

    default_message = "Enter the 6-digit code from your authenticator app to finish signing in."

    def __init__(self, mfa_token: str, methods: list[str] | None = None) -> None:
        super().__init__(code="mfa_required", status=200)
        self.mfa_token = mfa_token
        self.methods = methods or ["totp"]

    def __repr__(self) -> str:
        return f"MfaRequired(methods={self.methods!r})"


class MfaSetupRequired(ApiError):
    """Your organisation requires two-factor sign-in and it is not set up for you yet."""

    default_message = (
        "Your organisation requires two-factor sign-in, and it is not set up for your account "
        "yet. Open your NexaVPN server's web page in a browser, sign in and set up your "
        "authenticator app there, then sign in here again."
    )


class InvalidMfaCode(ApiError):
    """The two-factor code is wrong, expired or was already used."""

    default_message = (
        "The two-factor code is wrong or was already used. Wait for the next code and try again."
    )


class SessionBoundToDevice(ApiError):
    """This sign-in belongs to another device and cannot register this one."""

    default_message = (
        "This sign-in belongs to another device and cannot register this computer. Sign out "
        "and sign in again on this computer."
    )


class PublicKeyRevoked(ApiError):
    """The device key was revoked (or its device deleted) and can never be registered again."""

    default_message = (
        "This device key was revoked and can never be used again. Register this computer "
        "again to make a new key."
    )


class SignInCancelled(ClientError):
    """Single sign-on did not finish (the browser step was cancelled, refused or timed out)."""

    default_message = "Signing in with your organisation's account did not finish."


class KeyMismatch(ClientError):
    """The server's key for this device is not this installation's key: the profile is refused.

    Another installation re-registered this computer, a backup was restored, or a key rotation
    finished elsewhere; a tunnel with this installation's key could never handshake.
    """

    default_message = (
        "The server has a different key for this device than this installation holds (another "
        "installation on this computer re-registered it, a backup was restored, or a key "
        "rotation finished elsewhere). The new profile was not applied and the tunnel is down. "
        "Register this installation again to use it here."
    )


class PendingApproval(ClientError):
    """This device waits for an administrator's approval before it can connect."""

    default_message = (
        "This device is registered but waits for an administrator's approval; it can connect "
        "once approved."
    )


class TunnelInUse(ClientError):
    """Another NexaVPN program of this installation already keeps the tunnel up to date."""

    default_message = "Another NexaVPN program on this computer already manages this tunnel."


class SessionExpired(ApiError):
    """Your sign-in has expired or was ended; sign in again."""

    default_message = "Your session has ended. Sign in again."


class PermissionDenied(ApiError):
    """Your account is not allowed to do this."""

    default_message = "Your account is not allowed to do this."


class DeviceLimitReached(ApiError):
    """You already have the maximum number of devices; remove one first."""

    default_message = (
        "You have reached the maximum number of devices. Remove an old device or ask your "
        "administrator."
    )


class NoActiveGateway(ApiError):
    """No VPN gateway is online right now, so the device cannot be set up."""

    default_message = "No VPN gateway is available right now. Try again later."


class IpPoolExhausted(ApiError):
    """The VPN has no free addresses left for a new device."""

    default_message = "The VPN has no free addresses left. Contact your administrator."


class PublicKeyInUse(ApiError):
    """The device key is already used by another device (a new key will be made)."""

    default_message = "This device key is already registered to another device."


class DeviceRevoked(ApiError):
    """This device was revoked by an administrator (or by you); it can no longer connect."""

    default_message = (
        "This device has been revoked and can no longer connect. Register it again or "
        "contact your administrator."
    )


class ServerError(ApiError):
    """The server had a problem handling the request; try again later."""

    default_message = "The server had a problem. Try again later."


class ProtocolError(ApiError):
    """The server's answer did not make sense to this client (version mismatch?)."""

    default_message = (
        "The server's answer could not be understood. The client and server versions may "
        "not match."
    )


# ------------------------------------------------------------------ tunnel


class TunnelError(ClientError):
    """The VPN tunnel could not be changed on this computer; ``stderr`` holds the tool's words."""

    default_message = "The VPN tunnel could not be set up on this computer."

    def __init__(self, message: str | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


class BackendUnavailable(TunnelError):
    """No way to run the VPN tunnel is usable on this computer (``reason`` says why)."""

    default_message = "No VPN tunnel backend is usable on this computer."


class CommandFailed(TunnelError):
    """A system tool needed for the tunnel failed; ``stderr`` carries its own message."""

    default_message = "A system tool needed for the VPN failed."

    def __init__(self, argv: list[str], returncode: int, stderr: str = "") -> None:
        tool = argv[0] if argv else "?"
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {returncode}"
        super().__init__(f"{tool} failed: {detail}", stderr=stderr)
        self.argv = argv
        self.returncode = returncode
