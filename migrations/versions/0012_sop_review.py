"""sop review: a version is sent for review before another manager approves it (issue 14)

Revision ID: 0012
Revises: 0014
Create Date: 2026-11-26 11:30:00

Draft → in review → approved → effective: the version status check admits ``in_review``.
No row changes: existing drafts stay drafts (they are sent for review from the page or API).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0014'
branch_labels = None
depends_on = None

BEFORE = ['draft', 'approved', 'effective', 'superseded', 'retired']
AFTER = ['draft', 'in_review', 'approved', 'effective', 'superseded', 'retired']


def _status_check(values):
    sqlite = op.get_bind().dialect.name == "sqlite"
    quoted = ", ".join("'" + v + "'" for v in values)
    with op.batch_alter_table('sop_versions', recreate="always" if sqlite else "never") as batch:
        batch.drop_constraint(batch.f('ck_sop_versions_version_status'), type_="check")
        batch.create_check_constraint(batch.f('ck_sop_versions_version_status'),
                                      f"status IN ({quoted})")


def upgrade():
    _status_check(AFTER)


def downgrade():
    op.execute("UPDATE sop_versions SET status = 'draft' WHERE status = 'in_review'")
    _status_check(BEFORE)
