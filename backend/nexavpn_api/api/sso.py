"""/api/v1/auth: single sign-on with OpenID Connect (providers, start, callback, token)."""

from __future__ import annotations

from flask import current_app, redirect
from flask.views import MethodView

from ..schemas import error_responses
from ..schemas.auth import (
    LoginResponseSchema,
    OidcCallbackArgsSchema,
    OidcStartArgsSchema,
    OidcTokenSchema,
    ProvidersSchema,
)
from ..services import oidc, oidc_providers, tokens
from . import browser_session
from .common import Blueprint, api_prefix, request_meta, request_origin

blp = Blueprint(
    "sso", __name__, url_prefix=api_prefix("auth"), description="Single sign-on (OpenID Connect)"
)

_REDIRECT = {"description": "Redirect", "headers": {"Location": {"schema": {"type": "string"}}}}


@blp.route("/providers")
class Providers(MethodView):
    """How one can sign in here."""

    @blp.response(200, ProvidersSchema)
    def get(self):
        """Password sign-in and the configured identity providers (public: sign-in pages ask)."""
        return {
            "password": bool(current_app.config.get("NEXAVPN_PASSWORD_LOGIN", True)),
            "oidc": [{"id": p.id, "name": p.name} for p in oidc_providers.configured()],
        }


@blp.route("/oidc/<provider_id>/start")
class OidcStart(MethodView):
    """Begin a single sign-on."""

    @blp.arguments(OidcStartArgsSchema, location="query")
    @blp.response(302, None, **_REDIRECT)
    @error_responses(blp, 400, 404, 503)
    def get(self, args: dict, provider_id: str):
        """Redirect to the identity provider (authorization code flow with PKCE and nonce).

        `redirect_uri` must be this server's admin UI callback (`<public URL>/auth/callback`) or
        a loopback URL (`http://127.0.0.1:<port>/…`, `http://[::1]:<port>/…`); anything else is
        400. `code_challenge` is the client's own PKCE S256 challenge: the one-time code the
        callback hands back can only be spent with its verifier. The provider unreachable →
        503 `identity_provider_unavailable`.
        """
        url = oidc.start(oidc_providers.get(provider_id), args, origin=request_origin())
        return redirect(url, 302)


@blp.route("/oidc/<provider_id>/callback")
class OidcCallback(MethodView):
    """The identity provider sends the browser back here."""

    @blp.arguments(OidcCallbackArgsSchema, location="query")
    @blp.response(302, None, **_REDIRECT)
    @error_responses(blp, 400, 404)
    def get(self, args: dict, provider_id: str):
        """Check the ID token (signature from the provider's keys, issuer, audience, nonce,
        expiry), find or create the user, apply the provider's groups, then redirect to the
        client's `redirect_uri` with `?code=<one-time code>&state=<its state>`; a refused
        sign-in (disabled user, bad token, provider error or down) redirects with
        `?error=<code>&state=`. An unknown, spent or expired `state` is 400 `invalid_state`."""
        url = oidc.callback(
            oidc_providers.get(provider_id), args, origin=request_origin(), meta=request_meta()
        )
        return redirect(url, 302)


@blp.route("/oidc/token")
class OidcToken(MethodView):
    """Finish a single sign-on."""

    @blp.arguments(OidcTokenSchema)
    @blp.response(200, LoginResponseSchema)
    @error_responses(blp, 400, 403)
    def post(self, body: dict):
        """Spend the one-time code with the PKCE verifier of the challenge given at start:
        the answer of POST /auth/login. The code works once and for 60 s; anything wrong is
        400 `invalid_grant`."""
        answer = oidc.exchange(body["code"], body["code_verifier"], meta=request_meta())
        return browser_session.hand_over(answer, lifetime=tokens.refresh_lifetime())
