"""login limiter counters, audit retention, id reuse

The sign-in limiter keeps fixed-window counters per (username digest, client address), per
username and per address in ``login_throttle`` (it used to count audit rows, which could not be
made atomic and made every refused attempt an audit row).

SQLite: ``users`` is rebuilt with AUTOINCREMENT, so the id of a deleted user is never handed to
a new one (which would inherit the old account's audit trail). PostgreSQL identity columns never
reuse ids. The rebuild runs with foreign keys off (env.py), so no cascade fires while the old
table is dropped; the case-insensitive username index is recreated.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 05:30:00

"""
from alembic import op
import sqlalchemy as sa

from nexavpn_api.models._types import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_throttle',
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('username_digest', sa.String(length=64), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('window_start', UTCDateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('refused', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope', 'username_digest', 'ip', name=op.f('pk_login_throttle')),
    )
    op.create_index(
        op.f('ix_login_throttle_window_start'), 'login_throttle', ['window_start'], unique=False
    )


    if op.get_bind().dialect.name == "sqlite":
        op.drop_index('uq_users_username_lower', table_name='users')
        with op.batch_alter_table(
            'users', recreate='always', table_kwargs={'sqlite_autoincrement': True}
        ):
            pass
        op.create_index(
            'uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True
        )


def downgrade():
    op.drop_index(op.f('ix_login_throttle_window_start'), table_name='login_throttle')
    op.drop_table('login_throttle')
