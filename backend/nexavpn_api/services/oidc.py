"""Single sign-on with OpenID Connect: the authorization code flow towards the provider (PKCE,
nonce, state) and a one-time code towards our own client (the admin UI or a desktop/CLI on a
loopback redirect, RFC 8252), bound to that client's PKCE challenge.

Flow: ``start`` keeps a state record and redirects to the provider; the provider redirects to
``callback``, which spends the state, exchanges the provider's code, verifies the ID token,
finds or creates the user and redirects to the client with a code; the client spends that code
with its PKCE verifier at ``exchange`` for a normal session.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import delete, update

from ..errors import ApiError, validation_error
from ..extensions import db
from ..models import OidcGrant, User
from ..models._types import utcnow
from ..request_meta import NO_REQUEST, RequestMeta
from . import audit, sso_users, tokens
from .oidc_providers import Provider, keys, metadata, timeout, unavailable, userinfo
from .sso_users import LoginRefused

log = logging.getLogger(__name__)

ADMIN_UI_CALLBACK = "/auth/callback"
STATE_SECONDS = 600
CODE_SECONDS = 60
CLOCK_LEEWAY = 60
ID_TOKEN_ALGS = [
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
]
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_-]{43,128}$")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636)."""
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def public_base(origin: str) -> str:
    """The server's public origin: NEXAVPN_PUBLIC_URL, else ``origin`` (the view passes the
    origin of the request it serves)."""
    return current_app.config.get("NEXAVPN_PUBLIC_URL") or origin


def provider_redirect_uri(provider: Provider, origin: str) -> str:
    """What the operator registers at the provider as the redirect URI."""
    return f"{public_base(origin)}/api/v1/auth/oidc/{provider.id}/callback"


def redirect_allowed(uri: str, origin: str) -> bool:
    """The admin UI's own callback, or a loopback http URL with a port (RFC 8252)."""
    if uri == public_base(origin) + ADMIN_UI_CALLBACK:
        return True
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and parts.hostname in ("127.0.0.1", "::1")
        and parts.netloc in (f"127.0.0.1:{port}", f"[::1]:{port}")
        and port is not None
        and not parts.fragment
    )


def _client_redirect(uri: str, **params: str) -> str:
    sep = "&" if urlsplit(uri).query else "?"
    return uri + sep + urlencode(params)


def _session(provider: Provider, origin: str, **kwargs: Any) -> OAuth2Session:
    return OAuth2Session(
        provider.client_id,
        provider.client_secret,
        scope=" ".join(provider.scopes),
        redirect_uri=provider_redirect_uri(provider, origin),
        code_challenge_method="S256",
        **kwargs,
    )


def start(provider: Provider, args: dict[str, Any], *, origin: str) -> str:
    """Check the client's request, keep a state record, answer the provider's authorize URL;
    ``origin`` is the request's, the public URL when NEXAVPN_PUBLIC_URL is not set."""
    redirect_uri = args["redirect_uri"]
    if not redirect_allowed(redirect_uri, origin):
        raise validation_error(
            {"redirect_uri": ["must be this server's admin UI callback or a loopback URL"]}
        )
    if args.get("code_challenge_method", "S256") != "S256":
        raise validation_error({"code_challenge_method": ["only S256"]})
    if not _CHALLENGE_RE.match(args["code_challenge"]):
        raise validation_error({"code_challenge": ["43-128 characters of base64url"]})
    auth_url = metadata(provider)["authorization_endpoint"]

    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    db.session.execute(delete(OidcGrant).where(OidcGrant.expires_at < utcnow()))
    db.session.add(
        OidcGrant(
            id=_digest(state),
            kind="state",
            data={
                "provider": provider.id,
                "redirect_uri": redirect_uri,
                "client_state": args.get("state") or "",
                "code_challenge": args["code_challenge"],
                "nonce": nonce,
                "verifier": verifier,
            },
            expires_at=utcnow() + timedelta(seconds=STATE_SECONDS),
        )
    )
    db.session.commit()
    url, _ = _session(provider, origin).create_authorization_url(
        auth_url, state=state, nonce=nonce, code_verifier=verifier
    )
    return url


def _spend(kind: str, secret: str) -> OidcGrant | None:
    """Mark a live grant used (one conditional UPDATE: a second spend finds nothing)."""
    if not secret or len(secret) > 512:
        return None
    gid = _digest(secret)
    result = db.session.execute(
        update(OidcGrant)
        .where(
            OidcGrant.id == gid,
            OidcGrant.kind == kind,
            OidcGrant.used_at.is_(None),
            OidcGrant.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
    )
    if result.rowcount != 1:
        return None
    return db.session.get(OidcGrant, gid)


def callback(
    provider: Provider, args: dict[str, str], *, origin: str, meta: RequestMeta = NO_REQUEST
) -> str:
    """Where the provider sends the browser back: answers the client redirect URL."""
    grant = _spend("state", args.get("state", ""))
    if grant is None or grant.data.get("provider") != provider.id:
        db.session.rollback()
        raise ApiError(
            400,
            "invalid_state",
            "This sign-in link is unknown, used or expired; start the sign-in again.",
        )
    data = dict(grant.data)
    db.session.commit()
    back, client_state = data["redirect_uri"], data["client_state"]
    if args.get("error"):
        return _client_redirect(back, error="access_denied", state=client_state)
    try:
        claims = _claims_from_code(provider, args.get("code", ""), data, origin)
        user = sso_users.user_for(provider, claims, meta=meta)
    except LoginRefused as refused:
        db.session.rollback()
        log.warning("single sign-on with %s refused: %s", provider.id, refused)
        audit.record(
            "auth.login_failed",
            actor_type="user",
            ip=meta.ip,
            details={"method": "oidc", "provider": provider.id, "reason": refused.code},
        )
        db.session.commit()
        return _client_redirect(back, error=refused.code, state=client_state)
    except ApiError as exc:
        db.session.rollback()
        if exc.status != 503:
            raise
        return _client_redirect(back, error="identity_provider_unavailable", state=client_state)

    code = secrets.token_urlsafe(32)
    db.session.add(
        OidcGrant(
            id=_digest(code),
            kind="code",
            data={
                "user_id": user.id,
                "provider": provider.id,
                "code_challenge": data["code_challenge"],
            },
            expires_at=utcnow() + timedelta(seconds=CODE_SECONDS),
        )
    )
    db.session.commit()
    return _client_redirect(back, code=code, state=client_state)


def _claims_from_code(
    provider: Provider, code: str, data: dict[str, Any], origin: str
) -> dict[str, Any]:
    """Exchange the provider's code, verify its ID token, merge in UserInfo."""
    if not code:
        raise LoginRefused("invalid_request", "no code from the provider")
    token_url = metadata(provider)["token_endpoint"]
    try:
        token = _session(provider, origin).fetch_token(
            token_url,
            code=code,
            code_verifier=data["verifier"],
            timeout=timeout(),
            allow_redirects=False,
        )
    except requests.RequestException:
        raise unavailable(provider, "token") from None
    except Exception as exc:
        raise LoginRefused(
            "access_denied", f"token endpoint refused the code: {type(exc).__name__}"
        ) from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise LoginRefused("invalid_id_token", "no ID token in the token response")
    claims = verify_id_token(provider, id_token, data["nonce"])
    extra = userinfo(provider, str(token.get("access_token") or ""))
    if extra and extra.get("sub") != claims["sub"]:
        raise LoginRefused("invalid_id_token", "UserInfo names another subject")
    return {**extra, **claims}  # the ID token wins where both name a claim


def _kid(id_token: str) -> str | None:
    try:
        head = id_token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def verify_id_token(provider: Provider, id_token: str, nonce: str) -> dict[str, Any]:
    """The ID token's claims once signature (provider JWKS), issuer, audience, nonce and
    expiry are right; else LoginRefused. An unknown key id fetches the JWKS again (rotation)."""
    keyset = keys(provider, want_kid=_kid(id_token))
    try:
        claims = dict(jwt.decode(id_token, keyset, algorithms=ID_TOKEN_ALGS).claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise LoginRefused("invalid_id_token", f"signature: {type(exc).__name__}") from None
    now = time.time()
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    checks = {
        # Exact, but for a trailing slash (authentik's issuers end in one, other docs drop it).
        "issuer": isinstance(claims.get("iss"), str)
        and claims["iss"].rstrip("/") == provider.issuer.rstrip("/"),
        "audience": provider.client_id in auds
        and (len(auds) == 1 or claims.get("azp") == provider.client_id),
        "nonce": isinstance(claims.get("nonce"), str)
        and secrets.compare_digest(claims["nonce"], nonce),
        "expiry": isinstance(claims.get("exp"), int | float) and claims["exp"] + CLOCK_LEEWAY > now,
        "issued_at": not isinstance(claims.get("iat"), int | float)
        or claims["iat"] - CLOCK_LEEWAY <= now,
        "subject": isinstance(claims.get("sub"), str) and 0 < len(claims["sub"]) <= 255,
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        raise LoginRefused("invalid_id_token", "ID token " + ", ".join(failed) + " wrong")
    return claims


def exchange(code: str, verifier: str, *, meta: RequestMeta = NO_REQUEST) -> dict[str, Any]:
    """The client spends the one-time code with its PKCE verifier: a session (login body)."""
    grant = _spend("code", code)
    if grant is None or not secrets.compare_digest(
        s256(verifier or ""), str(grant.data.get("code_challenge", ""))
    ):
        db.session.commit()  # a wrong verifier still spends the code
        raise ApiError(
            400, "invalid_grant", "The sign-in code is unknown, used, expired or not yours."
        )
    user = db.session.get(User, int(grant.data["user_id"]))
    db.session.commit()
    if user is None:
        raise ApiError(
            400, "invalid_grant", "The sign-in code is unknown, used, expired or not yours."
        )
    if user.disabled:
        raise ApiError(403, "user_disabled", "This account is disabled.")
    return tokens.complete_login(user, "oidc", meta=meta)
