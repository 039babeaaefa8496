"""scans.status_wording, searches.error_wording: why a scan is queued again or failed, and why a
search failed, as their wordings (message and values), so pages say them in the reader's
language; status_reason and error keep the English for the API. Rows stored before keep none
and show their English.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-27 13:15:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scans') as batch_op:
        batch_op.add_column(sa.Column('status_wording', sa.JSON(none_as_null=True),
                                      nullable=True))
    with op.batch_alter_table('searches') as batch_op:
        batch_op.add_column(sa.Column('error_wording', sa.JSON(none_as_null=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('searches') as batch_op:
        batch_op.drop_column('error_wording')
    with op.batch_alter_table('scans') as batch_op:
        batch_op.drop_column('status_wording')
