"""/api/v1/users: admin CRUD; a user may read and edit (password, email) only itself."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import current_user

from ..pagination import page_schema
from ..schemas import error_responses
from ..schemas.users import UserCreateSchema, UserListArgsSchema, UserSchema, UserUpdateSchema
from ..security import admin_required, current_family_id, login_required
from ..services import mfa
from ..services import users as svc
from .common import Blueprint, api_prefix, request_meta

blp = Blueprint("users", __name__, url_prefix=api_prefix("users"), description="Users (admin)")

BEARER = [{"bearerAuth": []}]
UserPageSchema = page_schema(UserSchema, "UserPage")


@blp.route("")
class Users(MethodView):
    """The user list."""

    @admin_required
    @blp.arguments(UserListArgsSchema, location="query")
    @blp.response(200, UserPageSchema)
    @error_responses(blp, 401, 403)
    @blp.doc(security=BEARER)
    def get(self, args: dict):
        """List users (admin), newest last; `q` searches username and email."""
        return svc.list_users(args)

    @admin_required
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    @error_responses(blp, 401, 403, 409)
    @blp.doc(security=BEARER)
    def post(self, body: dict):
        """Create a user (admin). Usernames are unique regardless of case (409)."""
        password_hash = svc.hash_outside_transaction(body["password"])
        return svc.create_user(
            current_user, body, password_hash=password_hash, meta=request_meta()
        )


@blp.route("/<int:user_id>")
class UserItem(MethodView):
    """One user."""

    @login_required
    @blp.response(200, UserSchema)
    @error_responses(blp, 401, 404)
    @blp.doc(security=BEARER)
    def get(self, user_id: int):
        """A user; non-admins may read only themselves (404 for others)."""
        return svc.get_visible_user(current_user, user_id)

    @login_required
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @error_responses(blp, 401, 403, 404, 409)
    @blp.doc(security=BEARER)
    def patch(self, body: dict, user_id: int):
        """Change a user.

        Non-admins may change only their own `password` (with `current_password`) and
        `email`; `role`, `groups`, `disabled` and `username` changes are 403 for them.
        Disabling ends the user's sessions and revokes its devices. Nobody can disable
        themselves or disable/demote the last enabled admin (409).
        """
        user = svc.get_visible_user(current_user, user_id)
        work = svc.password_work(current_user, user, body)  # argon2 before the write lock
        user = svc.get_visible_user(current_user, user_id)
        return svc.update_user(
            current_user,
            user,
            body,
            actor_family=current_family_id(),
            prepared=work,
            meta=request_meta(),
        )

    @admin_required
    @blp.response(204)
    @error_responses(blp, 401, 403, 404, 409)
    @blp.doc(security=BEARER)
    def delete(self, user_id: int):
        """Delete a user (admin): its devices are revoked and removed. Not yourself, not the
        last enabled admin (409)."""
        svc.delete_user(current_user, svc.get_user(user_id), meta=request_meta())
        return None


@blp.route("/<int:user_id>/mfa")
class UserMfa(MethodView):
    """A user's two-factor sign-in (admin)."""

    @admin_required
    @blp.response(204)
    @error_responses(blp, 401, 403, 404)
    @blp.doc(security=BEARER)
    def delete(self, user_id: int):
        """Reset a user's two-factor (a lost phone): TOTP off, recovery codes gone; the user
        sets it up again (at once when NEXAVPN_MFA_REQUIRED applies to them)."""
        mfa.reset(current_user, svc.get_user(user_id), meta=request_meta())
        return None
