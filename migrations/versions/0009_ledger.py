"""ledger: each lab's custody events and audit entries sealed into a Merkle-tree log with signed,
witnessed checkpoints (issue 10); audit entries no longer chain per lab

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 08:14:22.590766

New tables: ledger_logs, ledger_leaves, ledger_nodes, ledger_checkpoints, ledger_cosignatures
(the last four append-only by trigger, as custody_events) and ledger_witnesses.

audit_entries.seq becomes nullable and audit_heads goes: new entries are hashed on their own
content and take their position in the lab's ledger, so writers no longer lock the lab's chain
head. Existing entries keep their seq and still verify as the old chain; the sealer puts them in
the ledger too, oldest first.

Downgrade: only while no entry without seq exists (they cannot be renumbered, the table refuses
UPDATE); audit_heads is rebuilt from the old chain's last entries.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

#: append-only like custody_events: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL)
APPEND_ONLY = ("ledger_leaves", "ledger_nodes", "ledger_checkpoints", "ledger_cosignatures")


def _append_only_triggers(tables):
    """The triggers of 0001, for more tables (PostgreSQL reuses forbid_append_only_change)."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in tables:
        if postgresql:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION forbid_append_only_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION forbid_append_only_change()")
        else:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb.lower()}")
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); "
                           "END")


def _audit_seq(nullable):
    sqlite = op.get_bind().dialect.name == "sqlite"
    # SQLite rebuilds the table to change a column, dropping its triggers: make them again.
    with op.batch_alter_table('audit_entries', recreate="always" if sqlite else "auto") as batch:
        batch.alter_column('seq', existing_type=sa.INTEGER(), nullable=nullable)
    if sqlite:
        _append_only_triggers(["audit_entries"])


def upgrade():
    op.create_table('ledger_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('root_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('vkey', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lab_id'], ['labs.id'], name=op.f('fk_ledger_checkpoints_lab_id_labs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_checkpoints'))
    )
    with op.batch_alter_table('ledger_checkpoints', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_checkpoints_lab_size', ['lab_id', 'size'], unique=False)

    op.create_table('ledger_leaves',
    sa.Column('lab_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.Enum('custody_event', 'audit_entry', name='leaf_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('leaf_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('sealed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lab_id'], ['labs.id'], name=op.f('fk_ledger_leaves_lab_id_labs')),
    sa.PrimaryKeyConstraint('lab_id', 'position', name=op.f('pk_ledger_leaves')),
    sa.UniqueConstraint('kind', 'source_id', name=op.f('uq_ledger_leaves_kind_source_id'))
    )
    op.create_table('ledger_logs',
    sa.Column('lab_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('origin', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('edge', sa.JSON(), nullable=False),
    sa.Column('scan', sa.JSON(), nullable=False),
    sa.Column('swept_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('alarm', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['lab_id'], ['labs.id'], name=op.f('fk_ledger_logs_lab_id_labs')),
    sa.PrimaryKeyConstraint('lab_id', name=op.f('pk_ledger_logs')),
    sa.UniqueConstraint('origin', name=op.f('uq_ledger_logs_origin'))
    )
    op.create_table('ledger_nodes',
    sa.Column('lab_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('level', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('idx', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
    sa.ForeignKeyConstraint(['lab_id'], ['labs.id'], name=op.f('fk_ledger_nodes_lab_id_labs')),
    sa.PrimaryKeyConstraint('lab_id', 'level', 'idx', name=op.f('pk_ledger_nodes'))
    )
    op.create_table('ledger_witnesses',
    sa.Column('lab_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('vkey', sa.String(length=300), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('last_success_at', sa.DateTime(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('alarm', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['lab_id'], ['labs.id'], name=op.f('fk_ledger_witnesses_lab_id_labs')),
    sa.PrimaryKeyConstraint('lab_id', 'vkey', name=op.f('pk_ledger_witnesses'))
    )
    op.create_table('ledger_cosignatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('vkey', sa.String(length=300), nullable=False),
    sa.Column('cosigned_at', sa.DateTime(), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['ledger_checkpoints.id'], name=op.f('fk_ledger_cosignatures_checkpoint_id_ledger_checkpoints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_cosignatures')),
    sa.UniqueConstraint('checkpoint_id', 'vkey', name=op.f('uq_ledger_cosignatures_checkpoint_id_vkey'))
    )
    with op.batch_alter_table('ledger_cosignatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_cosignatures_checkpoint_id'), ['checkpoint_id'], unique=False)

    op.drop_table('audit_heads')
    _audit_seq(nullable=True)
    _append_only_triggers(APPEND_ONLY)


def downgrade():
    unchained = op.get_bind().execute(
        sa.text("SELECT count(*) FROM audit_entries WHERE seq IS NULL")).scalar()
    if unchained:
        raise RuntimeError(f"{unchained} audit entries were written since the ledger; they have "
                           "no place in the old per-lab chain, so 0005 cannot be downgraded")
    _audit_seq(nullable=False)
    op.create_table('audit_heads',
    sa.Column('chain_key', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('chain_key', name=op.f('pk_audit_heads'))
    )
    op.execute("INSERT INTO audit_heads (chain_key, seq, hash) SELECT e.chain_key, e.seq, e.hash "
               "FROM audit_entries e WHERE e.seq = (SELECT max(m.seq) FROM audit_entries m "
               "WHERE m.chain_key = e.chain_key)")
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    with op.batch_alter_table('ledger_cosignatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_cosignatures_checkpoint_id'))

    op.drop_table('ledger_cosignatures')
    op.drop_table('ledger_witnesses')
    op.drop_table('ledger_nodes')
    op.drop_table('ledger_logs')
    op.drop_table('ledger_leaves')
    with op.batch_alter_table('ledger_checkpoints', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_checkpoints_lab_size')

    op.drop_table('ledger_checkpoints')
