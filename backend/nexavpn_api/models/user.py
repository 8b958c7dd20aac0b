"""Users and their groups (groups are plain names attached to users)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import UTCDateTime, utcnow


class User(db.Model):
    """An account: an admin who runs the VPN or a user who enrolls devices."""

    __tablename__ = "users"
    # SQLite: never hand a deleted user's id to a new one (it would inherit the audit trail).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="user")
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Two-factor: the TOTP secret encrypted with a key from SECRET_KEY (services.secretbox);
    # set but not enabled while a setup awaits its first code. ``totp_last_step`` is the newest
    # time step accepted, so a code works once.
    totp_secret: Mapped[str | None] = mapped_column(String(255), nullable=True)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The identity provider that created the user (None: a password user). SSO users have an
    # empty password hash, which no password matches.
    sso_provider: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )

    group_rows: Mapped[list[UserGroup]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        # Loaded when used: every authenticated request loads the caller, and most never look
        # at groups. Lists of users ask for selectinload explicitly (see services.users).
        lazy="select",
        order_by="UserGroup.name",
    )

    @property
    def groups(self) -> list[str]:
        """Group names, sorted."""
        return sorted(g.name for g in self.group_rows)

    @groups.setter
    def groups(self, names: list[str]) -> None:
        wanted = sorted(set(names))
        keep = [g for g in self.group_rows if g.name in wanted]
        have = {g.name for g in keep}
        self.group_rows = keep + [UserGroup(name=n) for n in wanted if n not in have]

    @property
    def sign_in_method(self) -> str:
        """How the user signs in: ``oidc`` (created by single sign-on) or ``password``."""
        return "oidc" if self.sso_provider else "password"

    @property
    def is_admin(self) -> bool:
        """Admins manage everything; users only themselves."""
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r} {self.role}>"


# Usernames are unique regardless of case (sign-in ignores case). The app checks first for a
# friendly 409; this index (migration 0003) closes the race between two concurrent creates and
# lets sign-in's ``lower(username) = ?`` lookup use an index.
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class UserGroup(db.Model):
    """Membership of a user in a named group; a table so policies can be matched in SQL."""

    __tablename__ = "user_groups"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)

    user: Mapped[User] = relationship(back_populates="group_rows")
