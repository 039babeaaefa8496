"""cases: an item counter (cases.item_count, the number of the case's last top-level item), so
a receive locks the case, reads it and takes its item number in one UPDATE ... RETURNING instead
of a locking SELECT and a count of the items (issue 10, request path)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 17:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('item_count', sa.Integer(), nullable=False,
                                      server_default=sa.text('0')))
    # Numbers were the count of the case's top-level items plus one (items are never deleted),
    # so the counter starts at that count.
    op.execute("UPDATE cases SET item_count = (SELECT count(*) FROM items "
               "WHERE items.case_id = cases.id AND items.parent_id IS NULL)")


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('item_count')
