"""usernames unique regardless of case

Sign-in matches usernames without regard to case and the API refuses a second "Alice" beside
"alice", but only in the application: two concurrent creates could both pass the check, and a
later sign-in would find two users. A unique index on lower(username) closes that race and lets
the sign-in lookup use an index. If a database already holds usernames that differ only in
case, the upgrade stops and names them (rename one with the API or admin UI, then upgrade).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 22:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    clashes = op.get_bind().execute(
        sa.text(
            "SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1"
            " ORDER BY 1"
        )
    ).scalars().all()
    if clashes:
        raise RuntimeError(
            "these usernames exist more than once when case is ignored: "
            + ", ".join(clashes)
            + ". Rename all but one of each (PATCH /api/v1/users/{id} or the admin UI),"
            " then run the upgrade again."
        )
    op.create_index(
        'uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True
    )


def downgrade():
    op.drop_index('uq_users_username_lower', table_name='users')
