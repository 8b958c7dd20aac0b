"""``nexavpn-client``: the headless NexaVPN client for support staff, scripts and tests.

Commands (the same core as the desktop app)::

    nexavpn-client login --server URL --username U [--password-stdin]
                         [--trust-fingerprint SHA256] [--ca-file PEM]
    nexavpn-client login --server URL --sso [PROVIDER]
    nexavpn-client check-server --server URL
    nexavpn-client enroll [--name NAME]
    nexavpn-client status [--json]
    nexavpn-client sync
    nexavpn-client connect
    nexavpn-client up            (connect, then follow profile changes until Ctrl-C)
    nexavpn-client watch         (follow profile changes until Ctrl-C)
    nexavpn-client disconnect
    nexavpn-client export-config [--qr] [--output FILE] [--open]
    nexavpn-client logout [--remove-device]
    nexavpn-client --version

With two-factor sign-in on, ``login`` asks for the code (or reads it from the next line of
stdin after ``--password-stdin``). ``--sso`` signs in in the system browser through the
organisation's identity provider; the URL is printed for a computer without a browser.

Exit codes:

* 0 — success
* 1 — a local failure (tunnel tools, secure storage)
* 2 — usage error (bad arguments, bad URL or fingerprint, not enrolled yet)
* 3 — server or authentication error (unreachable, TLS problem, not a NexaVPN server,
  wrong credentials, session ended, not signed in, offline during sync, refused request)
* 4 — this device has been revoked
* 5 — the server's key for this device is not this installation's (another installation or a
  restore re-registered this computer); ``nexavpn-client enroll`` registers this one again

``export-config`` is the import handoff, a temporary fallback: it writes the complete config
(with the private key) to a user-only file for the system WireGuard app; ``--qr`` prints it as
a QR code for a phone.

Environment: ``NEXAVPN_CLIENT_STATE_DIR`` (app-data dir), ``PYTHON_KEYRING_BACKEND`` (keyring
backend class, e.g. ``keyring.backends.SecretService.Keyring``),
``NEXAVPN_CLIENT_TUNNEL_BACKEND`` (``linux``/``windows``/``macos``/``handoff``),
``NEXAVPN_CLIENT_MACOS_HELPER=sudo`` (use ``sudo -n`` instead of an admin prompt).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from . import __version__, errors
from .app import ClientApp, SyncResult, ensure_data_dir

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_LOCAL = 1
EXIT_USAGE = 2
EXIT_SERVER = 3
EXIT_REVOKED = 4
EXIT_KEY_MISMATCH = 5


def exit_code_for(exc: errors.ClientError) -> int:
    """The documented exit code for a typed error."""
    if isinstance(exc, errors.DeviceRevoked):
        return EXIT_REVOKED
    if isinstance(exc, errors.KeyMismatch):
        return EXIT_KEY_MISMATCH
    if isinstance(exc, errors.PendingApproval | errors.SignInCancelled):
        return EXIT_SERVER
    if isinstance(exc, errors.UsageError):
        return EXIT_USAGE
    if isinstance(
        exc,
        errors.ApiError
        | errors.ServerUnreachable
        | errors.TlsError
        | errors.NotNexaVpnServer
        | errors.NotLoggedIn,
    ):
        return EXIT_SERVER
    return EXIT_LOCAL


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exits 2 on usage errors, like every argparse program)."""
    parser = argparse.ArgumentParser(
        prog="nexavpn-client",
        description="NexaVPN client: sign in, register this computer, connect.",
        epilog="Exit codes: 0 ok, 1 local failure, 2 usage, 3 server/auth error, 4 revoked, "
               "5 key mismatch (run enroll).",
    )
    parser.add_argument("--version", action="version", version=f"nexavpn-client {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("login", help="sign in to a NexaVPN server")
    p.add_argument("--server", required=True, help="https:// address of the server")
    p.add_argument("--username", help="your user name (not with --sso)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin (and a two-factor "
                        "code, when asked, from the next)")
    p.add_argument("--sso", nargs="?", const="", metavar="PROVIDER",
                   help="sign in with your organisation's account in the browser (the "
                        "provider's id when the server offers several)")
    p.add_argument("--trust-fingerprint", metavar="SHA256",
                   help="pin a self-signed server certificate by its SHA-256 fingerprint")
    p.add_argument("--ca-file", metavar="PEM", help="trust server certificates from this CA")
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("check-server", help="check that a server is reachable and trusted")
    p.add_argument("--server", required=True)
    p.set_defaults(func=cmd_check_server)

    p = sub.add_parser("enroll", help="register this computer as a device")
    p.add_argument("--name", help="device name (default: the computer's name)")
    p.set_defaults(func=cmd_enroll)

    p = sub.add_parser("status", help="show sign-in, device and tunnel state")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    sub.add_parser("sync", help="fetch profile updates now").set_defaults(func=cmd_sync)
    sub.add_parser("connect", help="bring the VPN tunnel up").set_defaults(func=cmd_connect)
    sub.add_parser("up", help="bring the tunnel up and apply profile changes live "
                              "(runs until Ctrl-C)").set_defaults(func=cmd_up)
    sub.add_parser("watch", help="apply profile changes live (runs until Ctrl-C)"
                   ).set_defaults(func=cmd_watch)
    sub.add_parser("disconnect", help="bring the VPN tunnel down"
                   ).set_defaults(func=cmd_disconnect)

    p = sub.add_parser("export-config",
                       help="write the WireGuard config for the system WireGuard app "
                            "(temporary fallback)")
    p.add_argument("--qr", action="store_true", help="print the config as a QR code")
    p.add_argument("--output", type=Path, help="write to this file instead (created 0600)")
    p.add_argument("--open", action="store_true", help="open it with the WireGuard app")
    p.set_defaults(func=cmd_export_config)

    p = sub.add_parser("logout", help="sign out and delete local secrets and the tunnel")
    p.add_argument("--remove-device", action="store_true",
                   help="also remove this device from the server (it cannot connect again)")
    p.set_defaults(func=cmd_logout)
    return parser


def _read_password(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.password_stdin:
        line = stdin.readline()
        password = line.rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            raise errors.UsageError("No terminal to ask for the password; use --password-stdin.")
        password = getpass.getpass("Password: ")
    if not password:
        raise errors.UsageError("The password is empty.")
    return password


def _read_code(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.password_stdin:
        code = stdin.readline().strip()
    else:
        if not sys.stdin.isatty():
            raise errors.UsageError("No terminal to ask for the two-factor code.")
        code = input("Two-factor code (from your authenticator app, or a recovery code): ")
    if not code.strip():
        raise errors.UsageError("The two-factor code is empty.")
    return code.strip()


REENROLL_HINT = (
    "To use this installation on this computer, register it again:\n  nexavpn-client enroll\n"
)


def _fmt_age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{int(seconds)} s ago"
    return f"{int(seconds // 60)} min ago"


def _print_status(app: ClientApp, as_json: bool, out: TextIO) -> int:
    status = app.status()
    if as_json:
        json.dump(status.to_dict(), out, indent=2, sort_keys=True, default=str)
        out.write("\n")
    else:
        lines = [
            f"Server:      {status.server or '-'}"
            + (f" (trust: {status.trust})" if status.trust else ""),
            f"User:        {status.user or '-'}"
            + ("" if status.logged_in else " (not signed in)"),
        ]
        if status.enrolled:
            lines += [
                f"Device:      {status.device_name} (id {status.device_id})"
                + (" — REVOKED" if status.revoked else ""),
                f"VPN address: {status.vpn_ip or '-'}"
                + (f", {status.vpn_ip6}" if status.vpn_ip6 else ""),
                f"Profile:     revision {status.profile_revision}",
                "Resources:   "
                + (", ".join(r.get("destination", "?") for r in status.allowed_resources) or "-"),
            ]
        else:
            lines.append("Device:      not registered")
        lines.append(f"Tunnel:      {status.state.text} ({status.tunnel_backend or 'no backend'})")
        if status.connection == "connected":
            lines.append(
                f"Handshake:   {_fmt_age(status.handshake_age)}; "
                f"received {status.rx_bytes or 0} B, sent {status.tx_bytes or 0} B"
            )
        lines.append(f"Last sync:   {status.last_sync or 'never'}")
        if status.offline_since:
            lines.append(f"Offline since {status.offline_since}")
        if status.detail:
            lines.append(f"Note:        {status.detail}")
        if status.key_mismatch:
            lines.append(REENROLL_HINT.rstrip("\n"))
        out.write("\n".join(lines) + "\n")
    if status.revoked:
        return EXIT_REVOKED
    return EXIT_KEY_MISMATCH if status.key_mismatch else EXIT_OK


def _login(args: argparse.Namespace, app: ClientApp, stdin: TextIO, out: TextIO,
           err: TextIO) -> int:
    """Sign in; an untrusted certificate prints its fingerprint and how to pin it."""
    try:
        return _login_inner(args, app, stdin, out)
    except (errors.CertificateUntrusted, errors.PinMismatch) as exc:
        if exc.fingerprint:
            err.write(
                f"{exc.message}\nThe server presented a certificate with SHA-256 "
                f"fingerprint:\n  {exc.fingerprint}\nIf your administrator confirms it, "
                "run login again with --trust-fingerprint.\n"
            )
            return EXIT_SERVER
        raise


def _login_inner(args: argparse.Namespace, app: ClientApp, stdin: TextIO, out: TextIO) -> int:
    """Password (with a two-factor step when asked) or single sign-on in the browser."""
    if args.sso is not None:
        if args.username or args.password_stdin:
            raise errors.UsageError("--sso signs in in the browser: leave out --username and "
                                    "--password-stdin.")
        if args.trust_fingerprint:
            app.trust(args.server, args.trust_fingerprint)
        if args.ca_file:
            app._ca_file = args.ca_file
        providers = app.providers(args.server)
        if not providers:
            raise errors.UsageError("This server offers no single sign-on; sign in with "
                                    "--username.")
        wanted = args.sso
        if not wanted:
            if len(providers) > 1:
                names = ", ".join(f"{p.id} ({p.name})" for p in providers)
                raise errors.UsageError(f"This server offers several sign-in providers: {names}. "
                                        "Choose one: --sso ID.")
            chosen = providers[0]
        else:
            match = [p for p in providers if wanted in (p.id, p.name)]
            if not match:
                names = ", ".join(p.id for p in providers)
                raise errors.UsageError(f"No sign-in provider '{wanted}' on this server "
                                        f"(it offers: {names}).")
            chosen = match[0]

        def show(url: str, opened: bool) -> None:
            out.write(
                (f"Your browser opened to sign in with {chosen.name}.\n" if opened else
                 f"No browser could be opened. To sign in with {chosen.name}, open this "
                 "address in a browser on this computer:\n")
                + f"  {url}\nWaiting for the sign-in to finish…\n"
            )
            out.flush()

        user = app.login_sso(args.server, chosen.id, on_url=show, ca_file=args.ca_file)
        out.write(f"Signed in as {user.username} ({user.role}) with {chosen.name}.\n")
        return EXIT_OK
    if not args.username:
        raise errors.UsageError("Give --username (or --sso to sign in in the browser).")
    password = _read_password(args, stdin)
    try:
        user = app.login(
            args.server,
            args.username,
            password,
            trust_fingerprint=args.trust_fingerprint,
            ca_file=args.ca_file,
        )
    except errors.MfaRequired as mfa:
        code = _read_code(args, stdin)
        user = app.login_mfa(args.server, mfa.mfa_token, code, username=args.username)
    out.write(f"Signed in as {user.username} ({user.role}).\n")
    return EXIT_OK


def _follow(app: ClientApp, out: TextIO, err: TextIO, connect_when_approved: bool = False
            ) -> int:
    """Apply profile changes live until Ctrl-C (or until the device cannot go on)."""
    final: list[errors.ClientError] = []
    waiting = [connect_when_approved]

    def on_result(result: SyncResult) -> None:
        if result.changed or result.offline:
            (err if result.offline else out).write(
                f"{time.strftime('%H:%M:%S')} {result.message}\n")
            (err if result.offline else out).flush()
        if waiting[0] and not app.status().pending_approval:
            waiting[0] = False
            try:
                app.connect()
                out.write(f"{time.strftime('%H:%M:%S')} Approved: tunnel up.\n")
            except errors.ClientError as exc:
                err.write(f"{time.strftime('%H:%M:%S')} {exc.message}\n")
            out.flush()

    def on_error(exc: errors.ClientError) -> None:
        err.write(f"{time.strftime('%H:%M:%S')} {exc.message}\n")
        err.flush()
        final.append(exc)

    try:
        watcher = app.start_watcher(on_result, on_error, holder="nexavpn-client watch")
    except errors.TunnelInUse as exc:
        # The other program (the desktop app, another 'watch') already applies changes.
        out.write(f"{exc.message}\n")
        return EXIT_OK
    out.write("Following profile changes (Ctrl-C to stop).\n")
    out.flush()
    try:
        while watcher.is_alive():
            watcher.join(0.5)
    except KeyboardInterrupt:
        watcher.stop(timeout=1.0)
        out.write("Stopped following profile changes; the tunnel stays as it is.\n")
        return EXIT_OK
    fatal = [e for e in final if isinstance(e, errors.DeviceRevoked | errors.KeyMismatch |
                                            errors.SessionExpired | errors.NotLoggedIn |
                                            errors.NotEnrolled | errors.ProfileCorrupt)]
    if fatal:
        if isinstance(fatal[-1], errors.KeyMismatch):
            err.write(REENROLL_HINT)
        return exit_code_for(fatal[-1])
    return EXIT_OK


def _connect(app: ClientApp, out: TextIO, err: TextIO) -> None:
    """Sync first (a changed or revoked device is found before the tunnel goes up)."""
    status_before = app.status()
    if not status_before.logged_in and not status_before.enrolled:
        raise errors.NotLoggedIn(
            "You are not signed in, so there is no VPN profile to connect with. Sign in "
            "first: nexavpn-client login --server URL --username NAME"
        )
    if status_before.logged_in:
        try:
            result = app.sync()
        except errors.SessionExpired as exc:
            err.write(f"{exc.message} Connecting with the last profile meanwhile.\n")
        else:
            if result.offline:
                err.write(f"{result.message}\nConnecting with the last profile.\n")
    elif status_before.enrolled:
        err.write("You are signed out; connecting with the last profile (sign in again to "
                  "receive profile changes).\n")
    status = app.connect()
    state = app.status().state
    out.write(f"Tunnel: {state.text} ({status.backend}).\n")
    if status.detail:
        out.write(status.detail + "\n")


#: One command: the parsed arguments, the client, and the streams it reads and writes.
#: Each returns its exit code; typed errors propagate to :func:`main`, which words them.
Command = Callable[[argparse.Namespace, ClientApp, TextIO, TextIO, TextIO], int]


def cmd_login(args: argparse.Namespace, app: ClientApp, stdin: TextIO, out: TextIO,
              err: TextIO) -> int:
    """``login``: password (with a two-factor step) or single sign-on."""
    return _login(args, app, stdin, out, err)


def cmd_check_server(args: argparse.Namespace, app: ClientApp, _stdin: TextIO, out: TextIO,
                     err: TextIO) -> int:
    """``check-server``: reachable and trusted, or the fingerprint to compare."""
    check = app.check_server(args.server)
    if check.trusted:
        out.write(f"{check.url}: NexaVPN {check.version}, certificate trusted "
                  f"({check.trust_mode}).\n")
        return EXIT_OK
    err.write(f"{check.problem}\nSHA-256 fingerprint: {check.fingerprint}\n"
              f"Subject: {check.subject}\nValid until: {check.not_after}\n")
    return EXIT_SERVER


def cmd_enroll(args: argparse.Namespace, app: ClientApp, _stdin: TextIO, out: TextIO,
               _err: TextIO) -> int:
    """``enroll``: register this computer (a pending approval is said, not an error)."""
    info = app.enroll(args.name)
    out.write(
        f"Device '{info.name}' {'registered' if info.created else 're-registered'} "
        f"(id {info.id}); VPN address {info.vpn_ip}; profile revision "
        f"{info.profile_revision}.\n"
    )
    if info.status == "pending":
        out.write("It waits for an administrator's approval before it can connect; "
                  "'nexavpn-client up' connects as soon as it is approved.\n")
    return EXIT_OK


def cmd_status(args: argparse.Namespace, app: ClientApp, _stdin: TextIO, out: TextIO,
               _err: TextIO) -> int:
    """``status``: the local view, as text or ``--json``."""
    return _print_status(app, args.json, out)


def cmd_sync(_args: argparse.Namespace, app: ClientApp, _stdin: TextIO, out: TextIO,
             err: TextIO) -> int:
    """``sync``: fetch profile updates now; offline keeps the last profile (exit 3)."""
    result = app.sync()
    if result.offline:
        err.write(result.message + "\nThe last profile is kept.\n")
        return EXIT_SERVER
    out.write(result.message + "\n")
    return EXIT_OK


def cmd_connect(_args: argparse.Namespace, app: ClientApp, _stdin: TextIO, out: TextIO,
                err: TextIO) -> int:
    """``connect``: sync, then bring the tunnel up (no live updates afterwards)."""
    _connect(app, out, err)
    out.write("Profile changes are applied live while 'nexavpn-client up' or the desktop "
              "app runs; otherwise run 'nexavpn-client sync'.\n")
    return EXIT_OK


def cmd_up(_args: argparse.Namespace, app: ClientApp, _stdin: TextIO, out: TextIO,
           err: TextIO) -> int:
    """``up``: connect, then follow profile changes (waiting for approval if pending)."""
    try:
        _connect(app, out, err)
    except errors.PendingApproval as exc:
        out.write(f"{exc.message} Waiting for it here.\n")
        return _follow(app, out, err, connect_when_approved=True)
    return _follow(app, out, err)


def cmd_watch(_args: argparse.Namespace, app: ClientApp, _stdin: TextIO, out: TextIO,
              err: TextIO) -> int:
    """``watch``: follow profile changes until Ctrl-C."""
    return _follow(app, out, err)


def cmd_disconnect(_args: argparse.Namespace, app: ClientApp, _stdin: TextIO, out: TextIO,
                   _err: TextIO) -> int:
    """``disconnect``: bring the tunnel down."""
    status = app.disconnect()
    out.write(f"Tunnel {status.state.replace('_', ' ')} ({status.backend}).\n")
    return EXIT_OK


def cmd_export_config(args: argparse.Namespace, app: ClientApp, _stdin: TextIO, out: TextIO,
                      _err: TextIO) -> int:
    """``export-config``: the import handoff (file, WireGuard app, or a QR code only)."""
    if args.qr and not args.output and not args.open:
        out.write(app.config_qr_text())  # nothing written to disk
        return EXIT_OK
    path = app.export_config(args.output)
    out.write(
        f"WireGuard config written to {path} (readable only by you; it contains the "
        "private key).\nThis is a temporary fallback: import it into the WireGuard app. "
        "It is rewritten when the profile changes and removed on sign-out or revocation.\n"
    )
    if args.open:
        opened = app.open_in_wireguard_app()
        out.write(f"Handed {opened} to the WireGuard app.\n")
    if args.qr:
        out.write(app.config_qr_text())
    return EXIT_OK


def cmd_logout(args: argparse.Namespace, app: ClientApp, _stdin: TextIO, out: TextIO,
               err: TextIO) -> int:
    """``logout``: local problems go to stderr; sign-out itself still succeeds (exit 0)."""
    result = app.logout(remove_device=args.remove_device)
    for problem in result.problems:
        err.write(problem + "\n")
    out.write(
        "Signed out"
        + ("" if result.server_revoked else " locally (the server could not be reached)")
        + "; local secrets deleted.\n"
    )
    if result.device_removed:
        out.write("This device was removed from the server; it cannot connect again.\n")
    elif result.device_registered:
        out.write("This device stays registered on the server (it can connect again after "
                  "you sign in). 'nexavpn-client logout --remove-device' also removes it; "
                  "now your administrator can.\n")
    return EXIT_OK


def run(
    args: argparse.Namespace, app: ClientApp, stdin: TextIO, out: TextIO, err: TextIO
) -> int:
    """Carry out one parsed command (its ``func``); typed errors propagate to :func:`main`."""
    func: Command | None = getattr(args, "func", None)
    if func is None:
        raise errors.UsageError(f"Unknown command {getattr(args, 'command', None)}.")
    return func(args, app, stdin, out, err)


def main(
    argv: Sequence[str] | None = None,
    *,
    app: ClientApp | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Entry point of ``nexavpn-client``; returns the exit code (see the module docstring)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=err,
    )
    try:
        client = app or ClientApp.from_environment()
        ensure_data_dir(client)
        return run(args, client, stdin or sys.stdin, out, err)
    except errors.ClientError as exc:
        err.write(f"error: {exc.message}\n")
        if isinstance(exc, errors.KeyMismatch):
            err.write(REENROLL_HINT)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
