"""backups: the backup register. Every ``flask backup create`` is recorded once complete (its
folder, the manifest's SHA-256, files, bytes, schema revision, whether keys are in it) and
``flask backup verify`` records its latest check, so the audit page says when the records were
last backed up and whether that backup was checked; scheduled backups' retention records when it
deleted a folder (pruned_at), the row staying.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-27 13:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'backups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('folder', sa.String(length=1000), nullable=False),
        sa.Column('manifest_sha256', sa.String(length=64), nullable=False),
        sa.Column('files', sa.Integer(), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('schema_revision', sa.String(length=40), nullable=False),
        sa.Column('keys_included', sa.Boolean(), nullable=False),
        sa.Column('verified_at', sa.DateTime(), nullable=True),
        sa.Column('verified_ok', sa.Boolean(), nullable=True),
        sa.Column('problems', sa.Text(), nullable=False),
        sa.Column('pruned_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_backups')),
        sa.UniqueConstraint('manifest_sha256', name=op.f('uq_backups_manifest_sha256')),
    )


def downgrade():
    op.drop_table('backups')
