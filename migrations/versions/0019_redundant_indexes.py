"""indexes: drop four that repeat the leading column of a unique index (cases.lab_id,
items.case_id, custody_events.item_id, audit_entries.chain_key); each unique index serves the
same lookups, and every receive maintained three of them for nothing (issue 10, request path)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26 22:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

#: (index, table, column), each covered by a unique index that starts with the column
REDUNDANT = (
    ('ix_cases_lab_id', 'cases', 'lab_id'),
    ('ix_items_case_id', 'items', 'case_id'),
    ('ix_custody_events_item_id', 'custody_events', 'item_id'),
    ('ix_audit_entries_chain_key', 'audit_entries', 'chain_key'),
)


def upgrade():
    for name, table, _column in REDUNDANT:
        op.drop_index(name, table_name=table)


def downgrade():
    for name, table, column in REDUNDANT:
        op.create_index(name, table, [column], unique=False)
