"""candidates: lr_wording, the reason a likelihood ratio was withheld as its wording (message
and values), so pages say it in the reader's language; lr_note keeps the English. Candidates
stored before keep none and show their note.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-27 07:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('candidates') as batch_op:
        batch_op.add_column(sa.Column('lr_wording', sa.JSON(none_as_null=True), nullable=True))


def downgrade():
    with op.batch_alter_table('candidates') as batch_op:
        batch_op.drop_column('lr_wording')
