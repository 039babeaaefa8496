"""court reports: the canonical data of each chain-of-custody PDF, kept by the SHA-256 printed
in its footer (issue 14, item 3)

Revision ID: 0014
Revises: 0010
Create Date: 2026-11-26 11:20:00

New table court_reports, append-only by trigger like custody_events.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0010'
branch_labels = None
depends_on = None

TABLE = "court_reports"


def upgrade():
    op.create_table(TABLE,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('generated_at', sa.DateTime(), nullable=False),
    sa.Column('generated_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['generated_by_id'], ['users.id'], name=op.f('fk_court_reports_generated_by_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_court_reports_item_id_items')),
    sa.ForeignKeyConstraint(['lab_id'], ['labs.id'], name=op.f('fk_court_reports_lab_id_labs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_court_reports')),
    sa.UniqueConstraint('sha256', name=op.f('uq_court_reports_sha256'))
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_court_reports_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_court_reports_lab_id'), ['lab_id'], unique=False)
    # The triggers of 0001 (PostgreSQL reuses forbid_append_only_change).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
                   "FOR EACH ROW EXECUTE FUNCTION forbid_append_only_change()")
        op.execute(f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION forbid_append_only_change()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} "
                       f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: {verb} refused'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_court_reports_lab_id'))
        batch_op.drop_index(batch_op.f('ix_court_reports_item_id'))
    op.drop_table(TABLE)
