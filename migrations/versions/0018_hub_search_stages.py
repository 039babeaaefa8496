"""hub_searches: when stage 1 started and when it closed (the comparisons dispatched), so the
hub's sweep finds a partner search stuck since it started, and a redelivered task sees that its
stage was dispatched already (each chord is started once)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 23:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('hub_searches') as batch_op:
        batch_op.add_column(sa.Column('started_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('ranked_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('hub_searches') as batch_op:
        batch_op.drop_column('ranked_at')
        batch_op.drop_column('started_at')
