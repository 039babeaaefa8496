"""findings: the finding's sentence as its message and values (a wording), so pages say it in
the reader's language; rows judged before stay without one (their English message is shown)
until the next evaluation replaces them

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27 07:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('findings') as batch_op:
        batch_op.add_column(sa.Column('wording', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('findings') as batch_op:
        batch_op.drop_column('wording')
