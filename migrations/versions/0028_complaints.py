"""complaints: the complaints register (ISO/IEC 17025 §7.9). complaints (one row per complaint
and where its handling stands), complaint_cases (the lab's cases it concerns) and
complaint_contacts (what the complainant was told and when; append-only by trigger like
custody_events).

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-27 13:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

CONTACTS = 'complaint_contacts'


def _check(table, name, column, values):
    return sa.CheckConstraint(f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")",
                              name=op.f(f"ck_{table}_{name}"))


def upgrade():
    op.create_table(
        'complaints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lab_id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=30), nullable=False),
        sa.Column('received_on', sa.Date(), nullable=False),
        sa.Column('complainant_name', sa.String(length=200), nullable=False),
        sa.Column('complainant_organisation', sa.String(length=200), nullable=False),
        sa.Column('complainant_kind', sa.String(length=20), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('acknowledged_on', sa.Date(), nullable=True),
        sa.Column('is_within_scope', sa.Boolean(), nullable=True),
        sa.Column('investigator_id', sa.Integer(), nullable=True),
        sa.Column('assigned_by_id', sa.Integer(), nullable=True),
        sa.Column('assigned_at', sa.DateTime(), nullable=True),
        sa.Column('decision', sa.String(length=20), nullable=True),
        sa.Column('outcome', sa.Text(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('nonconformity_id', sa.Integer(), nullable=True),
        sa.Column('closed_on', sa.Date(), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        _check('complaints', 'complainant_kind', 'complainant_kind',
               ['court', 'prosecutor', 'police', 'defence', 'laboratory', 'other']),
        _check('complaints', 'complaint_channel', 'channel',
               ['letter', 'email', 'phone', 'in_person', 'other']),
        _check('complaints', 'complaint_status', 'status',
               ['received', 'acknowledged', 'under_investigation', 'decided', 'closed']),
        _check('complaints', 'complaint_decision', 'decision', ['upheld', 'not_upheld']),
        sa.ForeignKeyConstraint(['lab_id'], ['labs.id'], name=op.f('fk_complaints_lab_id_labs')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_complaints_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['investigator_id'], ['users.id'],
                                name=op.f('fk_complaints_investigator_id_users')),
        sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'],
                                name=op.f('fk_complaints_assigned_by_id_users')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'],
                                name=op.f('fk_complaints_decided_by_id_users')),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'],
                                name=op.f('fk_complaints_closed_by_id_users')),
        sa.ForeignKeyConstraint(['nonconformity_id'], ['nonconformities.id'],
                                name=op.f('fk_complaints_nonconformity_id_nonconformities')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
        sa.UniqueConstraint('lab_id', 'reference', name=op.f('uq_complaints_lab_id_reference')),
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_lab_id'), ['lab_id'], unique=False)

    op.create_table(
        'complaint_cases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lab_id', sa.Integer(), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['lab_id'], ['labs.id'],
                                name=op.f('fk_complaint_cases_lab_id_labs')),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'],
                                name=op.f('fk_complaint_cases_complaint_id_complaints')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_complaint_cases_case_id_cases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_cases')),
        sa.UniqueConstraint('complaint_id', 'case_id',
                            name=op.f('uq_complaint_cases_complaint_id_case_id')),
    )
    with op.batch_alter_table('complaint_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_cases_lab_id'), ['lab_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_cases_complaint_id'), ['complaint_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_cases_case_id'), ['case_id'],
                              unique=False)

    op.create_table(
        CONTACTS,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lab_id', sa.Integer(), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('contacted_on', sa.Date(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        _check(CONTACTS, 'contact_kind', 'kind', ['acknowledgment', 'progress', 'outcome']),
        sa.ForeignKeyConstraint(['lab_id'], ['labs.id'],
                                name=op.f('fk_complaint_contacts_lab_id_labs')),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'],
                                name=op.f('fk_complaint_contacts_complaint_id_complaints')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_complaint_contacts_recorded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_contacts')),
    )
    with op.batch_alter_table(CONTACTS, schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_contacts_lab_id'), ['lab_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_contacts_complaint_id'),
                              ['complaint_id'], unique=False)
    # The triggers of 0001 (PostgreSQL reuses forbid_append_only_change).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE TRIGGER {CONTACTS}_append_only BEFORE UPDATE OR DELETE ON "
                   f"{CONTACTS} FOR EACH ROW EXECUTE FUNCTION forbid_append_only_change()")
        op.execute(f"CREATE TRIGGER {CONTACTS}_no_truncate BEFORE TRUNCATE ON {CONTACTS} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION forbid_append_only_change()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {CONTACTS}_no_{verb.lower()} BEFORE {verb} ON "
                       f"{CONTACTS} BEGIN SELECT RAISE(ABORT, "
                       f"'{CONTACTS} is append-only: {verb} refused'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {CONTACTS}_append_only ON {CONTACTS}")
        op.execute(f"DROP TRIGGER IF EXISTS {CONTACTS}_no_truncate ON {CONTACTS}")
    op.drop_table(CONTACTS)
    op.drop_table('complaint_cases')
    op.drop_table('complaints')
