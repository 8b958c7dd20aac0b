"""device-bound sessions, revoked keys, device approval

* ``token_families.device_id``: the device a session enrolled; revoking or deleting that device
  ends the session, and the session cannot enroll another device.
* ``revoked_public_keys``: keys of revoked and deleted devices, refused forever. Filled from the
  devices already revoked (except a key some live device holds again today: refusing it would
  lock that device out on upgrade; it joins the table when that device is revoked).
* Devices may be ``pending`` (awaiting approval): the partial unique indexes now cover every
  device that is not revoked, so a pending device holds its fingerprint and key too.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 05:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_ACTIVE = "status = 'active'"
_LIVE = "status <> 'revoked'"

_BACKFILL = """
INSERT INTO revoked_public_keys (public_key, device_id, user_id, revoked_at)
SELECT d.public_key, d.id, d.user_id, COALESCE(d.revoked_at, d.updated_at)
FROM devices d
WHERE d.status = 'revoked'
  AND d.id = (SELECT max(d2.id) FROM devices d2
              WHERE d2.status = 'revoked' AND d2.public_key = d.public_key)
  AND NOT EXISTS (SELECT 1 FROM devices d3
                  WHERE d3.status <> 'revoked' AND d3.public_key = d.public_key)
"""


def _device_indexes(predicate: str) -> None:
    where = sa.text(predicate)
    op.create_index(
        'uq_devices_active_fingerprint', 'devices', ['user_id', 'fingerprint'], unique=True,
        sqlite_where=where, postgresql_where=where,
    )
    op.create_index(
        'uq_devices_active_public_key', 'devices', ['public_key'], unique=True,
        sqlite_where=where, postgresql_where=where,
    )


def _drop_device_indexes() -> None:
    op.drop_index('uq_devices_active_public_key', table_name='devices')
    op.drop_index('uq_devices_active_fingerprint', table_name='devices')


def upgrade():
    op.add_column('token_families', sa.Column('device_id', sa.Integer(), nullable=True))
    op.create_index('ix_token_families_device_id', 'token_families', ['device_id'])
    op.create_table(
        'revoked_public_keys',
        sa.Column('public_key', sa.String(length=44), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('public_key', name=op.f('pk_revoked_public_keys')),
    )
    op.execute(_BACKFILL)
    _drop_device_indexes()
    _device_indexes(_LIVE)


def downgrade():
    op.execute("UPDATE devices SET status = 'active' WHERE status = 'pending'")
    _drop_device_indexes()
    _device_indexes(_ACTIVE)
    op.drop_table('revoked_public_keys')
    op.drop_index('ix_token_families_device_id', table_name='token_families')
    with op.batch_alter_table('token_families') as batch_op:
        batch_op.drop_column('device_id')
