"""/api/v1/auth: login, refresh rotation, logout, who am I."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import current_user, get_jwt, verify_jwt_in_request

from ..schemas import error_responses
from ..schemas.auth import (
    LoginResponseSchema,
    LoginSchema,
    MfaVerifySchema,
    RecoveryCodesSchema,
    RefreshResponseSchema,
    TotpCodeSchema,
    TotpSetupSchema,
)
from ..schemas.users import UserSchema
from ..security import current_family_id, login_required
from ..services import mfa, tokens
from . import browser_session
from .common import Blueprint, api_prefix, request_meta

blp = Blueprint(
    "auth", __name__, url_prefix=api_prefix("auth"), description="Sign in, token refresh, sign out"
)

BEARER = [{"bearerAuth": []}]


@blp.route("/login")
class Login(MethodView):
    """Password sign-in."""

    @blp.arguments(LoginSchema)
    @blp.response(200, LoginResponseSchema)
    @error_responses(blp, 400, 401, 403, 429)
    def post(self, body: dict):
        """Start a session: an access token and a refresh token of a new token family.

        Unknown users and wrong passwords both get 401 `invalid_credentials`; a disabled
        account with the right password gets 403 `user_disabled`; repeated failures get 429
        `rate_limited` with Retry-After. With TOTP on, the right password answers
        `{"mfa_required": true, "mfa_token", "methods": ["totp"]}` and no tokens (continue at
        POST /auth/mfa/verify). `X-NexaVPN-Session: cookie` (the admin UI) puts the refresh
        token in an HttpOnly cookie instead of the body.
        """
        answer = tokens.login(body["username"], body["password"], meta=request_meta())
        return browser_session.hand_over(answer, lifetime=tokens.refresh_lifetime())


@blp.route("/refresh")
class Refresh(MethodView):
    """Refresh-token rotation."""

    @blp.response(200, RefreshResponseSchema)
    @error_responses(blp, 401, 403)
    @blp.doc(security=BEARER)
    def post(self):
        """Spend the refresh token (`Authorization: Bearer <refresh_token>`) for a new pair.

        The old refresh token stops working; presenting a spent one revokes the whole session
        (its access tokens too) and answers 401. An access token here is 401. A browser
        session sends no Authorization header: its HttpOnly refresh cookie is used instead,
        and then the `X-CSRF-Token` header must repeat the `nexavpn_csrf` cookie (else 403
        `csrf_failed`).
        """
        if browser_session.uses_cookie():
            browser_session.check_csrf()
            verify_jwt_in_request(refresh=True, locations=["cookies"])
        else:
            verify_jwt_in_request(refresh=True)
        answer = tokens.rotate(current_user, get_jwt(), meta=request_meta())
        return browser_session.hand_over(answer, lifetime=tokens.refresh_lifetime())


@blp.route("/logout")
class Logout(MethodView):
    """End the caller's session."""

    @login_required
    @blp.response(204)
    @error_responses(blp, 401)
    @blp.doc(security=BEARER)
    def post(self):
        """Revoke the caller's token family: its access and refresh tokens stop working at once.

        The user's other sessions keep working; a browser session's cookies are cleared.
        """
        tokens.logout(current_user, current_family_id(), meta=request_meta())
        browser_session.clear()
        return None


@blp.route("/me")
class Me(MethodView):
    """The signed-in user."""

    @login_required
    @blp.response(200, UserSchema)
    @error_responses(blp, 401)
    @blp.doc(security=BEARER)
    def get(self):
        """The caller's own user record."""
        return current_user


@blp.route("/mfa/verify")
class MfaVerify(MethodView):
    """Second step of a sign-in with TOTP on."""

    @blp.arguments(MfaVerifySchema)
    @blp.response(200, LoginResponseSchema)
    @error_responses(blp, 400, 401, 403, 429)
    def post(self, body: dict):
        """Spend the `mfa_token` of a right password with a TOTP code or an unused recovery
        code: the answer of POST /auth/login. A code works once; wrong codes count as failed
        logins (429 after too many); the `mfa_token` lives 5 minutes (401 after)."""
        answer = tokens.verify_mfa(body["mfa_token"], body["code"], meta=request_meta())
        return browser_session.hand_over(answer, lifetime=tokens.refresh_lifetime())


@blp.route("/mfa/totp")
class Totp(MethodView):
    """The caller's own TOTP two-factor sign-in."""

    @login_required
    @blp.response(200, TotpSetupSchema)
    @error_responses(blp, 401, 409)
    @blp.doc(security=BEARER)
    def post(self):
        """Start (or restart) the setup: a new secret and its otpauth:// URI (show it as a QR
        code). TOTP stays off until POST /auth/mfa/totp/confirm; 409 when already on or when
        the account signs in through an identity provider."""
        return mfa.begin_setup(current_user, meta=request_meta())

    @login_required
    @blp.arguments(TotpCodeSchema)
    @blp.response(204)
    @error_responses(blp, 400, 401, 409)
    @blp.doc(security=BEARER)
    def delete(self, body: dict):
        """Turn TOTP off, proven with a current code or a recovery code (400 `validation_error`)."""
        mfa.disable(current_user, body["code"], meta=request_meta())
        return None


@blp.route("/mfa/totp/confirm")
class TotpConfirm(MethodView):
    """Finish the TOTP setup."""

    @login_required
    @blp.arguments(TotpCodeSchema)
    @blp.response(200, RecoveryCodesSchema)
    @error_responses(blp, 400, 401, 409)
    @blp.doc(security=BEARER)
    def post(self, body: dict):
        """The first right code turns TOTP on and answers 10 recovery codes (each works once;
        they are shown only now). A wrong code is 400 `validation_error`."""
        codes = mfa.confirm_setup(current_user, body["code"], meta=request_meta())
        return {"recovery_codes": codes}
