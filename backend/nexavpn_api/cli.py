"""``nexavpn-server``: the ops console (serve, migrate, create-admin, reset-password, --version).

Other tools and tests depend on these command names. Exit codes: 0 ok, 1 failure, 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from . import __version__

log = logging.getLogger(__name__)


def _app():
    from .app import create_app

    return create_app()


def run_migrations(app=None) -> None:
    """Apply pending Alembic migrations (idempotent), then drop pooled connections.

    Migrations run without the request statement timeout: rewriting a large table is no fault.
    """
    from flask_migrate import upgrade

    from .app import create_app
    from .extensions import db

    app = create_app({"NEXAVPN_DB_STATEMENT_TIMEOUT_SECONDS": 0})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()


def _read_password(args: argparse.Namespace) -> tuple[str | None, bool]:
    """Password from stdin when asked, else a generated one; (None, _) after printing why not."""
    from .services.passwords import generate_password, password_problem

    if args.password_stdin:
        password, generated = sys.stdin.readline().rstrip("\r\n"), False
    else:
        password, generated = generate_password(), True
    problem = password_problem(password)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return None, generated
    return password, generated


def _show_generated(password: str, generated: bool) -> None:
    """A generated password is printed once, on the operator's terminal only (never logged)."""
    if generated:
        print(f"Generated password (shown only now): {password}")


def cmd_migrate(_args: argparse.Namespace) -> int:
    """Apply pending migrations."""
    run_migrations()
    print("Database is up to date.")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    """Create an admin (password from stdin or generated and printed once)."""
    from .extensions import db
    from .models import User
    from .schemas.users import USERNAME_RE
    from .services import audit
    from .services.passwords import hash_password
    from .services.tokens import find_user_by_username

    if not re.fullmatch(USERNAME_RE, args.username):
        print(
            "error: a username is 1-64 characters of A-Z a-z 0-9 . _ @ -", file=sys.stderr
        )
        return 2
    app = _app()
    run_migrations(app)
    if args.if_no_admin and _first_admin(app):
        return 0
    password, generated = _read_password(args)
    if password is None:
        return 2
    with app.app_context():
        if find_user_by_username(args.username) is not None:
            print(f"error: user {args.username!r} already exists", file=sys.stderr)
            return 1
        user = User(username=args.username, email=args.email, role="admin")
        user.password_hash = hash_password(password)
        db.session.add(user)
        db.session.flush()
        audit.record_by_system(
            "user.create", target_type="user", target_id=user.id, details={"role": "admin"}
        )
        db.session.commit()
    print(f"Created admin {args.username!r}.")
    _show_generated(password, generated)
    return 0


def cmd_reset_password(args: argparse.Namespace) -> int:
    """Set a new password and end the user's sessions."""
    from .extensions import db
    from .services import audit, login_limiter
    from .services.passwords import hash_password
    from .services.tokens import find_user_by_username, revoke_all_sessions

    app = _app()
    run_migrations(app)
    password, generated = _read_password(args)
    if password is None:
        return 2
    with app.app_context():
        user = find_user_by_username(args.username)
        if user is None:
            print(f"error: no user {args.username!r}", file=sys.stderr)
            return 1
        user.password_hash = hash_password(password)
        revoke_all_sessions(user.id, "password_reset")
        login_limiter.unlock(user.username)
        audit.record_by_system(
            "user.update", target_type="user", target_id=user.id, details={"password": "reset"}
        )
        name = user.username  # as stored: the lookup ignores case
        db.session.commit()
    print(f"Password of {name!r} was reset; their sessions were ended.")
    _show_generated(password, generated)
    return 0


def cmd_unlock(args: argparse.Namespace) -> int:
    """Clear a username's sign-in failure counters (after an attack locked its owner out)."""
    from .extensions import db
    from .services import audit, login_limiter
    from .services.tokens import find_user_by_username

    app = _app()
    run_migrations(app)
    with app.app_context():
        user = find_user_by_username(args.username)
        cleared = login_limiter.unlock(args.username)
        audit.record_by_system(
            "user.unlock",
            target_type="user" if user else None,
            target_id=user.id if user else None,
            details={"username": login_limiter.audit_username(args.username, user)},
        )
        db.session.commit()
    print(f"Sign-in of {args.username!r} unlocked ({cleared} failure counter(s) cleared).")
    return 0


def cmd_prune_audit(args: argparse.Namespace) -> int:
    """Delete audit rows older than the retention (``NEXAVPN_AUDIT_RETENTION_DAYS``)."""
    from .extensions import db
    from .services import audit_retention

    app = _app()
    run_migrations(app)
    with app.app_context():
        days = args.days if args.days is not None else app.config["NEXAVPN_AUDIT_RETENTION_DAYS"]
        if days < 1:
            print("error: the retention must be at least 1 day", file=sys.stderr)
            return 2
        removed = audit_retention.prune(days)
        db.session.commit()
    print(f"Removed {removed} audit event(s) older than {days} day(s).")
    return 0


def _first_admin(app) -> str | None:
    from .extensions import db
    from .models import User

    with app.app_context():
        name = db.session.execute(
            db.select(User.username).where(User.role == "admin").order_by(User.id).limit(1)
        ).scalar_one_or_none()
        db.engine.dispose()
        return name


def raise_open_files_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit: every waiting long-poll holds a socket."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # pragma: no cover - a container may forbid it
            log.warning("could not raise the open-files limit above %s", soft)
    return soft


def worker_connections() -> int:
    """Connections one gevent worker accepts: its long-poll capacity plus room for the rest."""
    from .config import longpoll_capacity

    configured = os.environ.get("NEXAVPN_WORKER_CONNECTIONS", "").strip()
    if configured:
        return int(configured)
    return longpoll_capacity() + 2000


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def cmd_serve(args: argparse.Namespace) -> int:
    """Apply migrations, then serve with gunicorn (gevent workers: a waiting long-poll holds no
    thread, only a greenlet and a socket)."""
    if args.worker_class == "gevent":
        # Patch before the app (psycopg, ssl, jwt…) is imported here for the migrations: the
        # workers are forked from this process and inherit those modules as imported.
        from gevent import monkey

        monkey.patch_all()
    from gunicorn.app.base import BaseApplication

    from .config import data_dir
    from .server_hooks import post_worker_init
    from .tls import cert_fingerprint, certificate_names, ensure_self_signed, is_self_signed

    app = _app()
    run_migrations(app)
    admin = _first_admin(app)
    public_host = (args.public_host or "").strip() or None
    host = args.host or ("0.0.0.0" if public_host else "127.0.0.1")  # noqa: S104
    certfile, keyfile = args.tls_cert, args.tls_key
    if args.self_signed and not certfile:
        names = certificate_names(host, public_host)
        had_one = (data_dir() / "tls" / "server.crt").exists()
        cert, key, made = ensure_self_signed(data_dir() / "tls", names)
        if had_one and made:
            print(f"Made a new self-signed certificate for {', '.join(names)}: clients and "
                  "agents that pinned an earlier one must trust the fingerprint below.",
                  flush=True)
        certfile, keyfile = str(cert), str(key)
    scheme = "https" if certfile else "http"
    shown = public_host or (host if host not in ("0.0.0.0", "::") else "localhost")  # noqa: S104
    url = f"{scheme}://{_bracket(shown)}:{args.port}"
    # The workers show these to admins (GET /server-info, the agent command after "New gateway").
    os.environ.setdefault("NEXAVPN_PUBLIC_URL", url)
    if certfile:
        os.environ["NEXAVPN_TLS_CERT"] = str(Path(certfile).resolve())
    host_for_url = _bracket(host)

    raise_open_files_limit()
    options: dict[str, Any] = {
        "bind": f"{host_for_url}:{args.port}",
        "workers": args.workers,
        "worker_class": args.worker_class,
        "threads": args.threads,
        "worker_connections": worker_connections(),
        "timeout": 120,
        "graceful_timeout": 30,
        "accesslog": "-" if args.access_log else None,
        "errorlog": "-",
        "loglevel": "info",
        "post_worker_init": post_worker_init,
        # gunicorn's control socket sits at one path per account: several servers would take
        # over and unlink each other's, and nothing here uses it.
        "control_socket_disable": True,
    }
    if certfile:
        from .https_redirect import gunicorn_ssl_context

        # http:// sent to this port is answered with a redirect to https:// (not a dropped line).
        options.update(certfile=certfile, keyfile=keyfile, ssl_context=gunicorn_ssl_context)

    def _announce() -> None:
        """Say where to sign in once the listening socket is bound (gunicorn's when_ready): a
        port already taken must not be preceded by a line claiming it is served."""
        if shown == host:
            print(f"NexaVPN {__version__} is listening on {url}", flush=True)
        else:
            print(f"NexaVPN {__version__} is listening on {host_for_url}:{args.port}, reachable "
                  f"as {url}", flush=True)
        if certfile:
            # Every start, not only the first: the admin UI (Gateways, Dashboard) shows it too.
            fingerprint = cert_fingerprint(Path(certfile))
            kind = "Self-signed certificate" if is_self_signed(Path(certfile)) else "Certificate"
            print(f"{kind} SHA-256 fingerprint: {fingerprint}", flush=True)
        if admin:
            print(
                f"Open {url}/ and sign in as {admin!r} with the password printed when it was "
                f"created (forgot it? nexavpn-server reset-password --username {admin}).",
                flush=True,
            )
        else:
            print(
                "No admin exists yet: create one with "
                "nexavpn-server create-admin --username admin",
                flush=True,
            )

    class _Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                if value is not None:
                    self.cfg.set(key, value)
            if args.gunicorn_config:  # packaging/server/gunicorn.conf.py: its settings win
                import runpy

                for key, value in runpy.run_path(args.gunicorn_config).items():
                    if key in self.cfg.settings and value is not None:
                        self.cfg.set(key, value)
            their_ready = self.cfg.when_ready

            def when_ready(server: Any) -> None:
                _announce()
                their_ready(server)

            self.cfg.set("when_ready", when_ready)

        def load(self):
            from .app import create_app

            return create_app()

    _Server().run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="nexavpn-server", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"nexavpn-server {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="apply migrations, then serve the API")
    p.add_argument(
        "--host",
        default=os.environ.get("NEXAVPN_HOST") or None,
        help="address to bind (127.0.0.1; all addresses when --public-host is given)",
    )
    p.add_argument(
        "--public-host",
        default=os.environ.get("NEXAVPN_PUBLIC_HOST") or None,
        help="host name or IP address gateways and clients use to reach this server: it goes "
        "into the self-signed certificate and the URL the admin UI shows",
    )
    p.add_argument("--port", type=int, default=int(os.environ.get("NEXAVPN_PORT", "8000")))
    p.add_argument("--workers", type=int, default=int(os.environ.get("NEXAVPN_WORKERS", "2")))
    p.add_argument(
        "--worker-class",
        choices=("gevent", "gthread"),
        default=os.environ.get("NEXAVPN_WORKER_CLASS", "gevent"),
        help="gevent (default: long-polls cost no thread) or gthread (threads, no gevent)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("NEXAVPN_THREADS", "16")),
        help="threads per worker with --worker-class gthread",
    )
    p.add_argument("--tls-cert", default=os.environ.get("NEXAVPN_TLS_CERT"))
    p.add_argument("--tls-key", default=os.environ.get("NEXAVPN_TLS_KEY"))
    p.add_argument(
        "--self-signed",
        action="store_true",
        help="serve HTTPS with a generated self-signed certificate (clients must pin it)",
    )
    p.add_argument("--access-log", action="store_true")
    p.add_argument(
        "--gunicorn-config",
        default=os.environ.get("NEXAVPN_GUNICORN_CONFIG"),
        help="a gunicorn settings file (workers, timeouts, hooks); its values win",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="apply pending database migrations")
    p.set_defaults(func=cmd_migrate)

    for name, func, helptext in (
        ("create-admin", cmd_create_admin, "create an admin user"),
        ("reset-password", cmd_reset_password, "set a new password for a user"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--username", required=True)
        p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        if name == "create-admin":
            p.add_argument("--email", default=None)
            p.add_argument(
                "--if-no-admin",
                action="store_true",
                help="do nothing when an admin already exists (first-start scripts)",
            )
        p.set_defaults(func=func)

    p = sub.add_parser("unlock", help="clear a username's sign-in failure counters")
    p.add_argument("--username", required=True)
    p.set_defaults(func=cmd_unlock)

    p = sub.add_parser("prune-audit", help="delete audit events older than the retention")
    p.add_argument(
        "--days",
        type=int,
        default=None,
        help="keep this many days (default NEXAVPN_AUDIT_RETENTION_DAYS, 365)",
    )
    p.set_defaults(func=cmd_prune_audit)

    from .backup import add_commands as add_backup_commands

    add_backup_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
