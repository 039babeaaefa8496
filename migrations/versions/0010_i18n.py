"""i18n: each lab's time zone for the pages, each user's chosen language (issue 14)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 11:20:00

Stored times stay UTC; ``labs.time_zone`` only changes what a person reads.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('labs') as batch:
        batch.add_column(sa.Column('time_zone', sa.String(length=64), server_default='UTC',
                                   nullable=False))
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('locale', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('locale')
    with op.batch_alter_table('labs') as batch:
        batch.drop_column('time_zone')
