"""TOTP two-factor sign-in (RFC 6238, 30 s, 6 digits, one step of clock drift either way):
setup, confirmation with recovery codes, verification, and the sign-in challenge token.

A code is accepted once: the newest accepted time step is stored and only a later step passes,
with one conditional UPDATE so that two servers cannot both accept the same code. Recovery
codes are random, stored as SHA-256, and each is spent by a conditional UPDATE as well.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

import pyotp
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, or_, update

from ..errors import ApiError
from ..extensions import db
from ..models import RecoveryCode, User
from ..models._types import utcnow
from ..request_meta import NO_REQUEST, RequestMeta
from . import audit, secretbox

ISSUER = "NexaVPN"
PURPOSE = b"totp secret"
RECOVERY_CODES = 10
MFA_TOKEN_SECONDS = 300
STEP_SECONDS = 30
_MFA_SALT = "nexavpn-mfa-challenge"


def _secret(user: User) -> str | None:
    return secretbox.open_sealed(user.totp_secret, PURPOSE) if user.totp_secret else None


def setup_required(user: User) -> bool:
    """Whether NEXAVPN_MFA_REQUIRED obliges this user to set up TOTP before anything else.

    Only password users: single sign-on users prove a second factor at their provider.
    """
    mode = current_app.config.get("NEXAVPN_MFA_REQUIRED", "off")
    if user.totp_enabled or user.sso_provider or mode == "off":
        return False
    return mode == "all" or user.is_admin


def begin_setup(user: User, *, meta: RequestMeta = NO_REQUEST) -> dict[str, str]:
    """A new secret (replacing an unconfirmed one); TOTP stays off until confirmed."""
    if user.sso_provider:
        raise ApiError(
            409,
            "conflict",
            "Two-factor sign-in for this account is managed by its identity provider.",
        )
    if user.totp_enabled:
        raise ApiError(409, "conflict", "Two-factor sign-in is already on; turn it off first.")
    secret = pyotp.random_base32()
    user.totp_secret = secretbox.seal(secret, PURPOSE)
    user.totp_last_step = None
    audit.record_by_user(
        "user.mfa_setup", user, target_type="user", target_id=user.id, ip=meta.ip
    )
    db.session.commit()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": qr_data_uri(uri)}


def qr_data_uri(text: str) -> str:
    """``text`` as a QR code, an SVG data: URI (rendered here so the secret never leaves for
    a third-party QR service and the admin UI needs no QR library)."""
    import segno

    return segno.make(text, error="m").svg_data_uri(scale=5, border=2)


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (now ±1) whose code is ``code``, or None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(time.time()) // STEP_SECONDS
    for step in (now_step, now_step - 1, now_step + 1):
        if secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _spend_step(user: User, step: int) -> bool:
    """Record ``step`` as used; False when it (or a later one) was used already."""
    result = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        user.totp_last_step = step
        return True
    return False


def _hash_code(code: str) -> str:
    normal = code.strip().replace("-", "").replace(" ", "").lower()
    return hashlib.sha256(normal.encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(6)  # 48 bits each, shown as xxxx-xxxx-xxxx
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_code(c)) for c in codes)
    return codes


def confirm_setup(user: User, code: str, *, meta: RequestMeta = NO_REQUEST) -> list[str]:
    """The first right code turns TOTP on; answers the recovery codes (shown once)."""
    if user.totp_enabled:
        raise ApiError(409, "conflict", "Two-factor sign-in is already on.")
    secret = _secret(user)
    if secret is None:
        raise ApiError(409, "conflict", "Start the two-factor setup first.")
    step = _matching_step(secret, code)
    if step is None or not _spend_step(user, step):
        raise ApiError(
            400,
            "validation_error",
            "That code is not right; check the clock of your device.",
            {"code": ["wrong code"]},
        )
    user.totp_enabled = True
    codes = _new_recovery_codes(user)
    audit.record_by_user(
        "user.mfa_enable", user, target_type="user", target_id=user.id, ip=meta.ip
    )
    db.session.commit()
    return codes


def check_code(user: User, code: str) -> str | None:
    """Spend a TOTP code or an unused recovery code of ``user``: ``totp``, ``recovery`` or None.

    The caller commits (the spend is part of its transaction).
    """
    secret = _secret(user) if user.totp_enabled else None
    if secret is None:
        return None
    step = _matching_step(secret, code)
    if step is not None:
        return "totp" if _spend_step(user, step) else None
    if len(code) > 64:
        return None
    result = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_code(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return "recovery" if result.rowcount == 1 else None


def _turn_off(user: User) -> None:
    user.totp_enabled = False
    user.totp_secret = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def disable(user: User, code: str, *, meta: RequestMeta = NO_REQUEST) -> None:
    """The user turns TOTP off, proving it with a current code (or a recovery code)."""
    if not user.totp_enabled:
        raise ApiError(409, "conflict", "Two-factor sign-in is not on.")
    if check_code(user, code) is None:
        db.session.rollback()
        raise ApiError(
            400, "validation_error", "That code is not right.", {"code": ["wrong code"]}
        )
    _turn_off(user)
    audit.record_by_user(
        "user.mfa_disable", user, target_type="user", target_id=user.id, ip=meta.ip
    )
    db.session.commit()


def reset(actor: User, user: User, *, meta: RequestMeta = NO_REQUEST) -> None:
    """An admin removes a user's two-factor (a lost phone); the user sets it up again."""
    was_on = user.totp_enabled or user.totp_secret is not None
    _turn_off(user)
    audit.record_by_user(
        "user.mfa_reset",
        actor,
        target_type="user",
        target_id=user.id,
        ip=meta.ip,
        details={"was_on": was_on},
    )
    db.session.commit()


def recovery_codes_left(user_id: int) -> int:
    """Unused recovery codes of a user."""
    from sqlalchemy import func, select

    return db.session.execute(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    ).scalar_one()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt=_MFA_SALT)


def _password_tag(user: User) -> str:
    """Ties a challenge to the password it answered: a password change voids it."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def challenge_token(user: User) -> str:
    """The ``mfa_token`` of a right password: names the user for five minutes, nothing more."""
    return _serializer().dumps({"uid": user.id, "pw": _password_tag(user)})


def challenge_user(token: str) -> User:
    """The user an ``mfa_token`` names, or 401 when it is forged, older than 5 minutes, or
    the password changed since."""
    invalid = ApiError(401, "unauthorized", "The two-factor sign-in token is invalid.")
    try:
        data: Any = _serializer().loads(token, max_age=MFA_TOKEN_SECONDS)
        user = db.session.get(User, int(data["uid"]))
        tag = str(data["pw"])
    except SignatureExpired:
        raise ApiError(
            401, "mfa_token_expired", "The sign-in took too long; start again."
        ) from None
    except (BadSignature, KeyError, TypeError, ValueError):
        raise invalid from None
    if user is None or not secrets.compare_digest(tag, _password_tag(user)):
        raise invalid
    return user
