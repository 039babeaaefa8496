"""transfers: the hub keeps a transfer's description and proofs in its events' payload only
until the receipt has reached the sender (hub_events.payload, hub_transfers.relayed_at)

Revision ID: 0015
Revises: 0011
Create Date: 2026-11-26 15:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('hub_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload', sa.JSON(none_as_null=True), nullable=True))
    with op.batch_alter_table('hub_transfers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('relayed_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('hub_transfers', schema=None) as batch_op:
        batch_op.drop_column('relayed_at')
    with op.batch_alter_table('hub_events', schema=None) as batch_op:
        batch_op.drop_column('payload')
