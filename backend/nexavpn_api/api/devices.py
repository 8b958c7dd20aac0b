"""/api/v1/devices — enrollment, listing, profile sync, rotation, revocation, deletion."""

from __future__ import annotations

from flask import make_response, request
from flask.views import MethodView
from flask_jwt_extended import current_user

from ..extensions import db
from ..schemas import error_responses
from ..schemas.devices import (
    DeviceListArgsSchema,
    DevicePageSchema,
    DeviceSchema,
    EnrollResponseSchema,
    EnrollSchema,
    ProfileArgsSchema,
    ProfileSchema,
    RevokeSchema,
)
from ..security import (
    admin_required,
    current_family_id,
    current_session_device_id,
    login_required,
)
from ..services import devices as device_service
from ..services import enrollment, notify
from .common import Blueprint, api_prefix, request_meta

blp = Blueprint(
    "devices",
    __name__,
    url_prefix=api_prefix("devices"),
    description="Devices: enrollment, profiles, rotation and revocation",
)

_device_schema = DeviceSchema()
_profile_schema = ProfileSchema()


@blp.route("/enroll")
class Enroll(MethodView):
    """Enroll a device of the signed-in user (or re-enroll the same fingerprint)."""

    @login_required
    @blp.arguments(EnrollSchema)
    @blp.response(201, EnrollResponseSchema)
    @blp.alt_response(200, schema=EnrollResponseSchema, description="re-enrolled")
    @error_responses(blp, 400, 401, 403, 409, 503)
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self, data):
        """Create or update the device, place it on a gateway and return its profile.

        The session that enrolls a device is bound to it: it may re-enroll that device (a new
        key) but no other (403 ``session_bound_to_device``), and it ends when the device is
        revoked or deleted. A revoked or deleted device's key is refused forever (409
        ``public_key_revoked``). With ``NEXAVPN_DEVICE_APPROVAL=required`` a new device is
        ``pending``: it has its address and profile but is on no gateway until approved.
        Other errors: 403 ``device_limit_reached`` (pending devices count), 409
        ``public_key_in_use`` / ``ip_pool_exhausted``, 503 ``no_active_gateway``.
        """
        result = enrollment.enroll(
            current_user.id,
            data,
            session_id=current_family_id(),
            bound_device_id=current_session_device_id(),
            meta=request_meta(),
        )
        body = {"device": result.device, "profile": result.profile}
        return body, (201 if result.created else 200)


@blp.route("")
class DeviceList(MethodView):
    """Devices: all for admins (filterable), one's own for users."""

    @login_required
    @blp.arguments(DeviceListArgsSchema, location="query")
    @blp.response(200, DevicePageSchema)
    @error_responses(blp, 400, 401)
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self, args):
        """List devices, paginated."""
        return device_service.list_devices(current_user, args)


@blp.route("/<int:device_id>")
class DeviceItem(MethodView):
    """One device."""

    @login_required
    @blp.response(200, DeviceSchema)
    @error_responses(blp, 401, 404)
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self, device_id: int):
        """A device (404 for other users' devices)."""
        return device_service.get_visible_device(current_user, device_id)

    @admin_required
    @blp.response(204)
    @error_responses(blp, 401, 403, 404)
    @blp.doc(security=[{"bearerAuth": []}])
    def delete(self, device_id: int):
        """Delete a device (admins); an active device is revoked first."""
        device_service.delete(current_user, device_id, meta=request_meta())
        return None


_ETAG_HEADERS = {
    "ETag": {
        "description": 'the profile revision, quoted ("7"): send it back as If-None-Match',
        "schema": {"type": "string"},
    },
    "Cache-Control": {"schema": {"type": "string", "example": "no-cache"}},
}
_IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "description": "the ETag of the profile the client holds; unchanged → 304 without a body",
    "schema": {"type": "string", "example": '"7"'},
}


@blp.route("/<int:device_id>/profile")
class DeviceProfile(MethodView):
    """The device's WireGuard profile, with revision ETag for cheap polling."""

    @login_required
    @blp.arguments(ProfileArgsSchema, location="query")
    @blp.response(200, ProfileSchema, headers=_ETAG_HEADERS)
    @blp.alt_response(
        304,
        description="unchanged since If-None-Match (with `wait`: still unchanged when it ran out)",
        headers=_ETAG_HEADERS,
    )
    @error_responses(blp, 400, 401, 404, 410, 503)
    @blp.doc(security=[{"bearerAuth": []}], parameters=[_IF_NONE_MATCH])
    def get(self, args, device_id: int):
        """The profile; 304 when ``If-None-Match`` names its revision; 410 once revoked.

        With ``wait`` (0-60 s) and a matching ``If-None-Match`` the request waits until the
        revision changes (200), the device is revoked (410) or ``wait`` passes (304).
        """
        tag, profile, unchanged = device_service.profile_when_changed(
            current_user,
            device_id,
            request.headers.get("If-None-Match"),
            notify.clamp_wait(args.get("wait")),
        )
        body = None if unchanged else _profile_schema.dump(profile)
        db.session.rollback()  # end the read transaction before the write (see touch_sync)
        device_service.touch_sync(device_id)
        resp = make_response("", 304) if unchanged else make_response(body, 200)
        resp.headers["ETag"] = tag
        resp.headers["Cache-Control"] = "no-cache"
        return resp


@blp.route("/<int:device_id>/rotate")
class DeviceRotate(MethodView):
    """Require a new key pair."""

    @login_required
    @blp.response(200, DeviceSchema)
    @error_responses(blp, 401, 404, 410)
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self, device_id: int):
        """Mark the device for key rotation (owner or admin)."""
        return device_service.rotate(current_user, device_id, meta=request_meta())


@blp.route("/<int:device_id>/approve")
class DeviceApprove(MethodView):
    """Let a pending device onto its gateway."""

    @admin_required
    @blp.response(200, DeviceSchema)
    @error_responses(blp, 401, 403, 404, 410)
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self, device_id: int):
        """Approve a pending device (admins); it becomes active and its gateway adds the peer."""
        return device_service.approve(current_user, device_id, meta=request_meta())


@blp.route("/<int:device_id>/revoke")
class DeviceRevoke(MethodView):
    """Revoke a device."""

    @login_required
    @blp.arguments(RevokeSchema, required=False)
    @blp.response(200, DeviceSchema)
    @error_responses(blp, 400, 401, 403, 404)
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self, data, device_id: int):
        """Revoke (owner or admin): the sessions bound to the device end with it;
        ``{"revoke_sessions": true}`` (admins) also ends every other session of the owner."""
        data = data or {}
        return device_service.revoke(
            current_user,
            device_id,
            revoke_sessions=bool(data.get("revoke_sessions")),
            meta=request_meta(),
        )
