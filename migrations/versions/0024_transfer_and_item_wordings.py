"""exhibit_transfers: verification_wording, what checking a partner's release (or receipt) found
as its wording; items: description_wording, a description the lab wrote (a partner's exhibit
received) as its wording. Pages say both in the reader's language; the English columns stay
for the API and exports. Rows stored before keep none and show their English.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-27 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exhibit_transfers') as batch_op:
        batch_op.add_column(sa.Column('verification_wording', sa.JSON(none_as_null=True),
                                      nullable=True))
    with op.batch_alter_table('items') as batch_op:
        batch_op.add_column(sa.Column('description_wording', sa.JSON(none_as_null=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('items') as batch_op:
        batch_op.drop_column('description_wording')
    with op.batch_alter_table('exhibit_transfers') as batch_op:
        batch_op.drop_column('verification_wording')
