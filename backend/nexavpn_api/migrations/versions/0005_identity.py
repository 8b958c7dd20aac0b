"""single sign-on identities, TOTP secrets and recovery codes

Users gain an encrypted TOTP secret, the last accepted time step and the provider that created
them; identities link (provider, subject) to a user; one-time grants hold sign-ins in flight.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 05:30:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _ts(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    # Plain ADD COLUMN (SQLite has it): a batch copy of the table would drop the expression
    # index on lower(username) that SQLite reflection cannot see.
    op.add_column('users', sa.Column('totp_secret', sa.String(length=255), nullable=True))
    op.add_column(
        'users', sa.Column('totp_enabled', sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column('users', sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
    op.add_column('users', sa.Column('sso_provider', sa.String(length=64), nullable=True))

    op.create_table(
        'user_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        _ts('created_at'),
        _ts('last_login_at', nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('provider', 'subject', name='uq_user_identities_sub'),
    )
    op.create_index('ix_user_identities_user_id', 'user_identities', ['user_id'])

    op.create_table(
        'oidc_grants',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        _ts('expires_at'),
        _ts('used_at', nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_oidc_grants_expires_at', 'oidc_grants', ['expires_at'])

    op.create_table(
        'recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        _ts('used_at', nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_recovery_codes_user_id', 'recovery_codes', ['user_id'])


def downgrade():
    op.drop_index('ix_recovery_codes_user_id', table_name='recovery_codes')
    op.drop_table('recovery_codes')
    op.drop_index('ix_oidc_grants_expires_at', table_name='oidc_grants')
    op.drop_table('oidc_grants')
    op.drop_index('ix_user_identities_user_id', table_name='user_identities')
    op.drop_table('user_identities')
    for column in ('sso_provider', 'totp_last_step', 'totp_enabled', 'totp_secret'):
        op.drop_column('users', column)
