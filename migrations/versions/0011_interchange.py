"""interchange: provenance of x3p references imported from other systems (issue 12, item 7);
physical exchange of exhibits between partner labs, linked across both ledgers (item 8):
hub_transfers at the hub, exhibit_transfers at the nodes, hub event kinds transfer and receipt

Revision ID: 0011
Revises: 0012
Create Date: 2026-11-26 11:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0012'
branch_labels = None
depends_on = None


TRANSFER_STATUS = sa.Enum('sent', 'delivered', 'received', 'refused', name='transfer_status',
                          native_enum=False, create_constraint=True, length=20)
OLD_KINDS = ('lead', 'answer', 'expired', 'access')
NEW_KINDS = (*OLD_KINDS, 'transfer', 'receipt')


def _event_kinds(values):
    recreate = "always" if op.get_bind().dialect.name == "sqlite" else "never"
    with op.batch_alter_table('hub_events', recreate=recreate) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_hub_events_event_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_hub_events_event_kind'), "kind IN (" + ", ".join(f"'{v}'" for v in values) + ")")


def upgrade():
    _event_kinds(NEW_KINDS)
    op.create_table('hub_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transfer_id', sa.String(length=40), nullable=False),
    sa.Column('sender_code', sa.String(length=16), nullable=False),
    sa.Column('receiver_code', sa.String(length=16), nullable=False),
    sa.Column('status', TRANSFER_STATUS, nullable=False),
    sa.Column('release_hash', sa.String(length=64), nullable=False),
    sa.Column('release_leaf_index', sa.Integer(), nullable=False),
    sa.Column('receipt_hash', sa.String(length=64), nullable=True),
    sa.Column('receipt_leaf_index', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_transfers')),
    sa.UniqueConstraint('sender_code', 'transfer_id', name=op.f('uq_hub_transfers_sender_code_transfer_id'))
    )
    with op.batch_alter_table('hub_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_transfers_sender_code'), ['sender_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_hub_transfers_receiver_code'), ['receiver_code'], unique=False)
    op.create_table('exhibit_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.Enum('incoming', 'outgoing', name='lead_direction', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('transfer_id', sa.String(length=40), nullable=False),
    sa.Column('partner_code', sa.String(length=16), nullable=False),
    sa.Column('status', TRANSFER_STATUS, nullable=False),
    sa.Column('item_kind', sa.String(length=40), nullable=False),
    sa.Column('calibre', sa.String(length=40), nullable=False),
    sa.Column('seal_number', sa.String(length=80), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('release_event_id', sa.Integer(), nullable=True),
    sa.Column('release_hash', sa.String(length=64), nullable=False),
    sa.Column('release_leaf_index', sa.Integer(), nullable=True),
    sa.Column('release_proof', sa.JSON(), nullable=False),
    sa.Column('release_verified', sa.Boolean(), nullable=False),
    sa.Column('verification', sa.Text(), nullable=False),
    sa.Column('receipt_event_id', sa.Integer(), nullable=True),
    sa.Column('receipt_hash', sa.String(length=64), nullable=False),
    sa.Column('receipt_leaf_index', sa.Integer(), nullable=True),
    sa.Column('receipt_proof', sa.JSON(), nullable=False),
    sa.Column('receipt_verified', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_exhibit_transfers_created_by_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_exhibit_transfers_item_id_items')),
    sa.ForeignKeyConstraint(['lab_id'], ['labs.id'], name=op.f('fk_exhibit_transfers_lab_id_labs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exhibit_transfers')),
    sa.UniqueConstraint('lab_id', 'direction', 'partner_code', 'transfer_id', name=op.f('uq_exhibit_transfers_lab_id_direction_partner_code_transfer_id'))
    )
    with op.batch_alter_table('exhibit_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exhibit_transfers_lab_id'), ['lab_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exhibit_transfers_item_id'), ['item_id'], unique=False)
    op.create_table('imported_scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('scan_id', sa.Integer(), nullable=False),
    sa.Column('original_sha256', sa.String(length=64), nullable=False),
    sa.Column('original_filename', sa.String(length=255), nullable=False),
    sa.Column('source_lab', sa.String(length=200), nullable=False),
    sa.Column('scanned_by', sa.String(length=200), nullable=False),
    sa.Column('measured_at', sa.String(length=40), nullable=False),
    sa.Column('system', sa.String(length=300), nullable=False),
    sa.Column('instrument_serial', sa.String(length=120), nullable=False),
    sa.Column('calibration_date', sa.String(length=40), nullable=False),
    sa.Column('record2', sa.JSON(), nullable=False),
    sa.Column('pixel_um_x', sa.Float(), nullable=False),
    sa.Column('pixel_um_y', sa.Float(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name=op.f('fk_imported_scans_imported_by_id_users')),
    sa.ForeignKeyConstraint(['lab_id'], ['labs.id'], name=op.f('fk_imported_scans_lab_id_labs')),
    sa.ForeignKeyConstraint(['scan_id'], ['scans.id'], name=op.f('fk_imported_scans_scan_id_scans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imported_scans')),
    sa.UniqueConstraint('scan_id', name=op.f('uq_imported_scans_scan_id'))
    )
    with op.batch_alter_table('imported_scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imported_scans_lab_id'), ['lab_id'], unique=False)


def downgrade():
    for table, indexes in (('exhibit_transfers', ('lab_id', 'item_id')),
                           ('hub_transfers', ('sender_code', 'receiver_code'))):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in indexes:
                batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
        op.drop_table(table)
    op.execute("DELETE FROM hub_events WHERE kind IN ('transfer', 'receipt')")
    _event_kinds(OLD_KINDS)
    with op.batch_alter_table('imported_scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imported_scans_lab_id'))
    op.drop_table('imported_scans')
