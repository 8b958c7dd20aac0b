"""Single sign-on and two-factor sign-in cost: a full OpenID Connect code flow (start →
provider → callback → token) against a real provider process on loopback, compared with a
password sign-in and a password + TOTP sign-in on the same server.

    .venv/bin/python bench/sso_signin.py [--rounds 30]

Runs the app in-process on a fresh SQLite database (threaded WSGI server on loopback) and
oidc-provider-mock as a subprocess. Prints median and 95th percentile milliseconds per flow.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyotp
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "backend"), str(ROOT / "shared")]

from tests.backend.oidc_helpers import LiveServer, MockIdp, sign_in  # noqa: E402


def _stats(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    print(f"{name:28s} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    from nexavpn_api.app import create_app
    from nexavpn_api.extensions import db
    from nexavpn_api.models import User
    from nexavpn_api.services.passwords import hash_password

    idp = MockIdp()
    idp.set_user("bench-sub", preferred_username="bench", groups=["eng"])
    tmp = Path(tempfile.mkdtemp(prefix="nexavpn-sso-bench-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
            "DATA_DIR": str(tmp),
            "NEXAVPN_LOGIN_MAX_FAILURES": 1000,
            "NEXAVPN_OIDC_PROVIDERS": [
                {
                    "id": "mock",
                    "name": "Mock",
                    "issuer": idp.url,
                    "client_id": "bench",
                    "client_secret": "bench-secret",
                    "groups_claim": "groups",
                }
            ],
        }
    )
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        for name in ("pw", "totp"):
            user = User(username=name, role="user")
            user.password_hash = hash_password("bench password 1")
            db.session.add(user)
        db.session.commit()
    server = LiveServer(app)
    try:
        pw = {"username": "pw", "password": "bench password 1"}
        login = server.api + "/auth/login"
        tok = requests.post(login, json={**pw, "username": "totp"}, timeout=10).json()
        auth = {"Authorization": f"Bearer {tok['access_token']}"}
        secret = requests.post(server.api + "/auth/mfa/totp", headers=auth, timeout=10).json()[
            "secret"
        ]
        requests.post(
            server.api + "/auth/mfa/totp/confirm",
            headers=auth,
            json={"code": pyotp.TOTP(secret).now()},
            timeout=10,
        ).raise_for_status()

        sso, password, totp = [], [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            resp, _ = sign_in(server, "mock", lambda url: idp.authorize(url, "bench-sub"))
            assert resp.status_code == 200, resp.text
            sso.append((time.perf_counter() - t) * 1000)

            t = time.perf_counter()
            assert requests.post(login, json=pw, timeout=10).status_code == 200
            password.append((time.perf_counter() - t) * 1000)

        # A TOTP code works once per 30 s step: the bench forgets the used step between rounds.
        for _ in range(min(3, args.rounds)):
            with app.app_context():
                db.session.execute(
                    db.update(User).where(User.username == "totp").values(totp_last_step=None)
                )
                db.session.commit()
            t = time.perf_counter()
            challenge = requests.post(login, json={**pw, "username": "totp"}, timeout=10).json()
            resp = requests.post(
                server.api + "/auth/mfa/verify",
                timeout=10,
                json={"mfa_token": challenge["mfa_token"], "code": pyotp.TOTP(secret).now()},
            )
            assert resp.status_code == 200, resp.text
            totp.append((time.perf_counter() - t) * 1000)
        _stats("password sign-in", password)
        _stats("password + TOTP sign-in", totp)
        _stats("OIDC code flow (4 hops)", sso)
    finally:
        server.stop()
        idp.stop()


if __name__ == "__main__":
    main()
