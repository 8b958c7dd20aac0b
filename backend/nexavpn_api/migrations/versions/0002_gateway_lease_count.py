"""gateways.lease_count, kept by triggers on ip_leases

Enrollment picks the least loaded gateway and decides whether its pool is dense; both used to
count the gateway's leases, a cost that grows with the gateway (about 1 ms at 50,000 devices on
SQLite). The count now lives on the gateway row and database triggers keep it exact on every
insert, delete (cascades and bulk deletes included) and move of a lease.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 21:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_BACKFILL = (
    "UPDATE gateways SET lease_count = "
    "(SELECT count(*) FROM ip_leases WHERE ip_leases.gateway_id = gateways.id)"
)

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER ip_leases_count_insert AFTER INSERT ON ip_leases
    BEGIN
        UPDATE gateways SET lease_count = lease_count + 1 WHERE id = NEW.gateway_id;
    END""",
    """CREATE TRIGGER ip_leases_count_delete AFTER DELETE ON ip_leases
    BEGIN
        UPDATE gateways SET lease_count = lease_count - 1 WHERE id = OLD.gateway_id;
    END""",
    """CREATE TRIGGER ip_leases_count_move AFTER UPDATE OF gateway_id ON ip_leases
    WHEN NEW.gateway_id IS NOT OLD.gateway_id
    BEGIN
        UPDATE gateways SET lease_count = lease_count - 1 WHERE id = OLD.gateway_id;
        UPDATE gateways SET lease_count = lease_count + 1 WHERE id = NEW.gateway_id;
    END""",
)

# PostgreSQL: statement-level triggers over transition tables, one UPDATE per gateway per
# statement. Row-level triggers would write a new version of the gateway row for every lease
# of a bulk insert or delete (50,000 versions for a 50,000-lease pool), and under MVCC those
# dead versions slow every read of the gateway until vacuum. Gateways are locked in id order
# first, the order every other multi-gateway writer uses, so bulk statements cannot deadlock
# with them.
_PG_FUNCTION = """
CREATE FUNCTION nexavpn_ip_leases_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM gateways WHERE id IN (SELECT gateway_id FROM new_rows)
            ORDER BY id FOR UPDATE;
        UPDATE gateways g SET lease_count = g.lease_count + d.n
            FROM (SELECT gateway_id, count(*) AS n FROM new_rows GROUP BY gateway_id) d
            WHERE g.id = d.gateway_id;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM 1 FROM gateways WHERE id IN (SELECT gateway_id FROM old_rows)
            ORDER BY id FOR UPDATE;
        UPDATE gateways g SET lease_count = g.lease_count - d.n
            FROM (SELECT gateway_id, count(*) AS n FROM old_rows GROUP BY gateway_id) d
            WHERE g.id = d.gateway_id;
    ELSE
        PERFORM 1 FROM gateways
            WHERE id IN (SELECT gateway_id FROM new_rows UNION SELECT gateway_id FROM old_rows)
            ORDER BY id FOR UPDATE;
        UPDATE gateways g SET lease_count = g.lease_count + d.n
            FROM (SELECT gateway_id, sum(n) AS n FROM (
                      SELECT gateway_id, count(*) AS n FROM new_rows GROUP BY gateway_id
                      UNION ALL
                      SELECT gateway_id, -count(*) AS n FROM old_rows GROUP BY gateway_id
                  ) moved GROUP BY gateway_id) d
            WHERE g.id = d.gateway_id AND d.n <> 0;
    END IF;
    RETURN NULL;
END
$$
"""
_PG_TRIGGERS = (
    """CREATE TRIGGER ip_leases_count_insert AFTER INSERT ON ip_leases
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION nexavpn_ip_leases_count()""",
    """CREATE TRIGGER ip_leases_count_delete AFTER DELETE ON ip_leases
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION nexavpn_ip_leases_count()""",
    """CREATE TRIGGER ip_leases_count_update AFTER UPDATE ON ip_leases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION nexavpn_ip_leases_count()""",
)


def upgrade():
    # A plain ADD COLUMN (SQLite supports it for a constant default): batch mode would rebuild
    # the table, and dropping the old one fails while devices and leases refer to it.
    op.add_column(
        'gateways',
        sa.Column('lease_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    )
    op.execute(_BACKFILL)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_FUNCTION)
        for ddl in _PG_TRIGGERS:
            op.execute(ddl)
    else:
        for ddl in _SQLITE_TRIGGERS:
            op.execute(ddl)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for name in ('ip_leases_count_insert', 'ip_leases_count_delete', 'ip_leases_count_update'):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON ip_leases")
        op.execute("DROP FUNCTION IF EXISTS nexavpn_ip_leases_count()")
    else:
        for name in ('ip_leases_count_insert', 'ip_leases_count_delete', 'ip_leases_count_move'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table('gateways', schema=None) as batch_op:
        batch_op.drop_column('lease_count')
