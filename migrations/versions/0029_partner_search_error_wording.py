"""partner_searches: error_wording, why a partner search failed as its wording, so the search
page says it in the reader's language (the English ``error`` column stays for the API). Rows
stored before keep none and show their English.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-27 12:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('partner_searches') as batch_op:
        batch_op.add_column(sa.Column('error_wording', sa.JSON(none_as_null=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('partner_searches') as batch_op:
        batch_op.drop_column('error_wording')
