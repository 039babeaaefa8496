"""searches: when the sweep last sent a search again that was still waiting to start, so a
search queued through a broker outage or a long queue is re-sent once per WORK_STUCK_AFTER
instead of failed

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27 01:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('searches') as batch_op:
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('searches') as batch_op:
        batch_op.drop_column('queued_at')
