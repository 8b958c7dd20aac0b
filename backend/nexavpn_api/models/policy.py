"""Access policies: who (users, groups) may reach which destination networks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import UTCDateTime, utcnow


class Policy(db.Model):
    """A grant of destinations to users and groups."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    destinations: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )

    user_rows: Mapped[list[PolicyUser]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PolicyUser.user_id"
    )
    group_rows: Mapped[list[PolicyGroup]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PolicyGroup.name"
    )

    @property
    def user_ids(self) -> list[int]:
        """Users named directly."""
        return sorted(r.user_id for r in self.user_rows)

    @user_ids.setter
    def user_ids(self, ids: list[int]) -> None:
        wanted = sorted(set(ids))
        keep = [r for r in self.user_rows if r.user_id in wanted]
        have = {r.user_id for r in keep}
        self.user_rows = keep + [PolicyUser(user_id=i) for i in wanted if i not in have]

    @property
    def groups(self) -> list[str]:
        """Groups named."""
        return sorted(r.name for r in self.group_rows)

    @groups.setter
    def groups(self, names: list[str]) -> None:
        wanted = sorted(set(names))
        keep = [r for r in self.group_rows if r.name in wanted]
        have = {r.name for r in keep}
        self.group_rows = keep + [PolicyGroup(name=n) for n in wanted if n not in have]


class PolicyUser(db.Model):
    """A user a policy names (a table so affected devices are found with one query)."""

    __tablename__ = "policy_users"

    policy_id: Mapped[int] = mapped_column(
        ForeignKey("policies.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PolicyGroup(db.Model):
    """A group a policy names."""

    __tablename__ = "policy_groups"

    policy_id: Mapped[int] = mapped_column(
        ForeignKey("policies.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
