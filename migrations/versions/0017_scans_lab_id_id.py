"""scans: an index on (lab_id, id), so a search shard's admissible ids (one lab's scans in an
id range) are one index range whatever the planner's statistics (issue 11, measured at 1M)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26 18:25:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_scans_lab_id_id', 'scans', ['lab_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_scans_lab_id_id', table_name='scans')
