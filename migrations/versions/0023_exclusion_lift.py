"""share_exclusions: lifted_by_id, lifted_at, lift_reason. A manager may end an exclusion (the
case is no longer sealed, a record was withdrawn by mistake); the row stays, lifted, so the
record says when the lab stopped and started sharing again, who decided and why.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-27 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('share_exclusions') as batch_op:
        batch_op.add_column(sa.Column('lifted_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('lifted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('lift_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_share_exclusions_lifted_by_id_users'), 'users',
                                    ['lifted_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('share_exclusions') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_share_exclusions_lifted_by_id_users'), type_='foreignkey')
        batch_op.drop_column('lift_reason')
        batch_op.drop_column('lifted_at')
        batch_op.drop_column('lifted_by_id')
