"""interchange: provenance of x3p references imported from other systems (issue 12, item 7)

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-26 11:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
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
    with op.batch_alter_table('imported_scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imported_scans_lab_id'))
    op.drop_table('imported_scans')
