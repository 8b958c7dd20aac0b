"""/api/v1/auth: login, refresh rotation, logout, who am I."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import current_user, get_jwt, verify_jwt_in_request

from ..schemas import error_responses
from ..schemas.auth import LoginResponseSchema, LoginSchema, RefreshResponseSchema
from ..schemas.users import UserSchema
from ..security import current_family_id, login_required
from ..services import tokens
from .common import Blueprint, api_prefix

blp = Blueprint(
    "auth", __name__, url_prefix=api_prefix("auth"), description="Sign in, token refresh, sign out"
)

BEARER = [{"bearerAuth": []}]


@blp.route("/login")
class Login(MethodView):
    """Password sign-in."""

    @blp.arguments(LoginSchema)
    @blp.response(200, LoginResponseSchema)
    @error_responses(blp, 401, 403, 429)
    def post(self, body: dict):
        """Start a session: an access token and a refresh token of a new token family.

        Unknown users and wrong passwords both get 401 `invalid_credentials`; a disabled
        account with the right password gets 403 `user_disabled`; repeated failures get 429
        `rate_limited` with Retry-After.
        """
        return tokens.login(body["username"], body["password"])


@blp.route("/refresh")
class Refresh(MethodView):
    """Refresh-token rotation."""

    @blp.response(200, RefreshResponseSchema)
    @error_responses(blp, 401)
    @blp.doc(security=BEARER)
    def post(self):
        """Spend the refresh token (`Authorization: Bearer <refresh_token>`) for a new pair.

        The old refresh token stops working; presenting a spent one revokes the whole session
        (its access tokens too) and answers 401. An access token here is 401.
        """
        verify_jwt_in_request(refresh=True)
        return tokens.rotate(current_user, get_jwt())


@blp.route("/logout")
class Logout(MethodView):
    """End the caller's session."""

    @login_required
    @blp.response(204)
    @error_responses(blp, 401)
    @blp.doc(security=BEARER)
    def post(self):
        """Revoke the caller's token family: its access and refresh tokens stop working at once.

        The user's other sessions keep working.
        """
        tokens.logout(current_user, current_family_id())
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
