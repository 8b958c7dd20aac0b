"""``nexavpn-client``: the headless NexaVPN client for support staff, scripts and tests.

Commands (the same core as the desktop app)::

    nexavpn-client login --server URL --username U [--password-stdin]
                         [--trust-fingerprint SHA256] [--ca-file PEM]
    nexavpn-client check-server --server URL
    nexavpn-client enroll [--name NAME]
    nexavpn-client status [--json]
    nexavpn-client sync
    nexavpn-client connect
    nexavpn-client disconnect
    nexavpn-client export-config [--qr] [--output FILE] [--open]
    nexavpn-client logout
    nexavpn-client --version

Exit codes:

* 0 — success
* 1 — a local failure (tunnel tools, secure storage)
* 2 — usage error (bad arguments, bad URL or fingerprint, not enrolled yet)
* 3 — server or authentication error (unreachable, TLS problem, not a NexaVPN server,
  wrong credentials, session ended, not signed in, offline during sync, refused request)
* 4 — this device has been revoked

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
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from . import __version__, errors
from .app import ClientApp, ensure_data_dir

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_LOCAL = 1
EXIT_USAGE = 2
EXIT_SERVER = 3
EXIT_REVOKED = 4


def exit_code_for(exc: errors.ClientError) -> int:
    """The documented exit code for a typed error."""
    if isinstance(exc, errors.DeviceRevoked):
        return EXIT_REVOKED
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
        epilog="Exit codes: 0 ok, 1 local failure, 2 usage, 3 server/auth error, 4 revoked.",
    )
    parser.add_argument("--version", action="version", version=f"nexavpn-client {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("login", help="sign in to a NexaVPN server")
    p.add_argument("--server", required=True, help="https:// address of the server")
    p.add_argument("--username", required=True)
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin")
    p.add_argument("--trust-fingerprint", metavar="SHA256",
                   help="pin a self-signed server certificate by its SHA-256 fingerprint")
    p.add_argument("--ca-file", metavar="PEM", help="trust server certificates from this CA")

    p = sub.add_parser("check-server", help="check that a server is reachable and trusted")
    p.add_argument("--server", required=True)

    p = sub.add_parser("enroll", help="register this computer as a device")
    p.add_argument("--name", help="device name (default: the computer's name)")

    p = sub.add_parser("status", help="show sign-in, device and tunnel state")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("sync", help="fetch profile updates now")
    sub.add_parser("connect", help="bring the VPN tunnel up")
    sub.add_parser("disconnect", help="bring the VPN tunnel down")

    p = sub.add_parser("export-config",
                       help="write the WireGuard config for the system WireGuard app "
                            "(temporary fallback)")
    p.add_argument("--qr", action="store_true", help="print the config as a QR code")
    p.add_argument("--output", type=Path, help="write to this file instead (created 0600)")
    p.add_argument("--open", action="store_true", help="open it with the WireGuard app")

    sub.add_parser("logout", help="sign out and delete local secrets and the tunnel")
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
        lines.append(f"Tunnel:      {status.connection} ({status.tunnel_backend or 'no backend'})")
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
        out.write("\n".join(lines) + "\n")
    return EXIT_REVOKED if status.revoked else EXIT_OK


def run(
    args: argparse.Namespace, app: ClientApp, stdin: TextIO, out: TextIO, err: TextIO
) -> int:
    """Carry out one parsed command; typed errors propagate to :func:`main`."""
    cmd = args.command
    if cmd == "login":
        password = _read_password(args, stdin)
        try:
            user = app.login(
                args.server,
                args.username,
                password,
                trust_fingerprint=args.trust_fingerprint,
                ca_file=args.ca_file,
            )
        except (errors.CertificateUntrusted, errors.PinMismatch) as exc:
            if exc.fingerprint:
                err.write(
                    f"{exc.message}\nThe server presented a certificate with SHA-256 "
                    f"fingerprint:\n  {exc.fingerprint}\nIf your administrator confirms it, "
                    "run login again with --trust-fingerprint.\n"
                )
                return EXIT_SERVER
            raise
        out.write(f"Signed in as {user.username} ({user.role}).\n")
        return EXIT_OK
    if cmd == "check-server":
        check = app.check_server(args.server)
        if check.trusted:
            out.write(f"{check.url}: NexaVPN {check.version}, certificate trusted "
                      f"({check.trust_mode}).\n")
            return EXIT_OK
        err.write(f"{check.problem}\nSHA-256 fingerprint: {check.fingerprint}\n"
                  f"Subject: {check.subject}\nValid until: {check.not_after}\n")
        return EXIT_SERVER
    if cmd == "enroll":
        info = app.enroll(args.name)
        out.write(
            f"Device '{info.name}' {'registered' if info.created else 're-registered'} "
            f"(id {info.id}); VPN address {info.vpn_ip}; profile revision "
            f"{info.profile_revision}.\n"
        )
        return EXIT_OK
    if cmd == "status":
        return _print_status(app, args.json, out)
    if cmd == "sync":
        result = app.sync()
        if result.offline:
            err.write(result.message + "\nThe last profile is kept.\n")
            return EXIT_SERVER
        out.write(result.message + "\n")
        return EXIT_OK
    if cmd == "connect":
        try:
            result = app.sync()
            if result.offline:
                err.write(f"{result.message}\nConnecting with the last profile.\n")
        except (errors.SessionExpired, errors.NotLoggedIn) as exc:
            err.write(f"{exc.message} Connecting with the last profile.\n")
        status = app.connect()
        out.write(f"Tunnel {status.state.replace('_', ' ')} ({status.backend}).\n")
        if status.detail:
            out.write(status.detail + "\n")
        return EXIT_OK
    if cmd == "disconnect":
        status = app.disconnect()
        out.write(f"Tunnel {status.state.replace('_', ' ')} ({status.backend}).\n")
        return EXIT_OK
    if cmd == "export-config":
        path = app.export_config(args.output)
        out.write(
            f"WireGuard config written to {path} (readable only by you; it contains the "
            "private key).\nThis is a temporary fallback: import it into the WireGuard app.\n"
        )
        if args.open:
            opened = app.open_in_wireguard_app()
            out.write(f"Handed {opened} to the WireGuard app.\n")
        if args.qr:
            out.write(app.config_qr_text())
        return EXIT_OK
    if cmd == "logout":
        result = app.logout()
        for problem in result.problems:
            err.write(problem + "\n")
        out.write(
            "Signed out"
            + ("" if result.server_revoked else " locally (the server could not be reached)")
            + "; local secrets deleted.\n"
        )
        return EXIT_OK
    raise errors.UsageError(f"Unknown command {cmd}.")


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
        return exit_code_for(exc)
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
