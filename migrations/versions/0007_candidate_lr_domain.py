"""candidates: likelihood ratio nullable (outside the calibration's domain), lr_note says why

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('candidates') as batch_op:
        batch_op.alter_column('likelihood_ratio', existing_type=sa.Float(), nullable=True)
        batch_op.add_column(sa.Column('lr_note', sa.Text(), nullable=False, server_default=''))


def downgrade():
    n = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM candidates WHERE likelihood_ratio IS NULL")).scalar()
    if n:
        raise RuntimeError(f"{n} candidates have no likelihood ratio (outside the calibration's "
                           "domain); delete their searches before downgrading")
    with op.batch_alter_table('candidates') as batch_op:
        batch_op.drop_column('lr_note')
        # No LR is no number: refuse rather than invent one for candidates outside the domain.
        batch_op.alter_column('likelihood_ratio', existing_type=sa.Float(), nullable=False)
