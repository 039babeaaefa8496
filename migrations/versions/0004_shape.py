"""shape: statuses and kinds checked by the database, constraint names with every column,
the outbox, scan status times for the sweep

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Every status/kind column gets a CHECK constraint naming its allowed values (the values are
frozen here, as a migration must be). Composite unique constraints were named after their
first column only (``uq_cases_lab_id`` for (lab, year, seq)); they are renamed to name every
column. SQLite cannot alter constraints in place, so its tables are rebuilt (batch mode) with
foreign keys off, and the append-only triggers of rebuilt tables are created again.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

#: table -> [(column, check name, allowed values)]
ENUMS = {'audit_entries': [('action', 'audit_action', ['insert', 'update', 'delete', 'read'])],
 'calibration_records': [('kind', 'calibration_kind', ['calibration', 'performance_check'])],
 'candidates': [('decision', 'decision',
                 ['pending', 'no_association', 'potential_lead', 'confirmed'])],
 'case_links': [('conclusion', 'link_conclusion', ['identification'])],
 'competency_assessments': [('status', 'assessment_status', ['self_assessed', 'completed'])],
 'corrective_actions': [('kind', 'action_kind', ['corrective', 'preventive'])],
 'custody_events': [('kind', 'custody_kind',
                     ['received', 'transferred', 'stored', 'checked_out', 'returned', 'sealed',
                      'unsealed', 'sampled', 'released', 'destroyed'])],
 'equipment': [('kind', 'equipment_kind',
                ['comparison_microscope', 'stereo_microscope', 'imaging_station', 'test_fire_tank',
                 'bullet_trap', 'balance', 'measuring_instrument', 'chronograph', 'other'])],
 'examination_reviews': [('kind', 'review_kind', ['technical', 'administrative']),
                         ('outcome', 'review_outcome',
                          ['agree', 'disagree', 'approved', 'returned'])],
 'examinations': [('status', 'exam_status', ['in_progress', 'completed', 'released']),
                  ('result', 'afte_result',
                   ['identification', 'inconclusive_a', 'inconclusive_b', 'inconclusive_c',
                    'elimination', 'unsuitable'])],
 'findings': [('severity', 'severity', ['blocking', 'major', 'minor'])],
 'items': [('kind', 'item_kind',
            ['firearm', 'cartridge_case', 'bullet', 'fragment', 'magazine', 'ammunition',
             'test_fire', 'other']),
           ('status', 'item_status', ['in_custody', 'released', 'destroyed'])],
 'nonconformities': [('severity', 'severity', ['blocking', 'major', 'minor']),
                     ('status', 'nonconformity_status', ['open', 'actions_in_progress', 'closed'])],
 'scans': [('file_format', 'scan_format', ['x3p', 'png', 'tiff']),
           ('region', 'region', ['breech_face', 'firing_pin']),
           ('status', 'scan_status', ['queued', 'running', 'done', 'failed'])],
 'searches': [('scope', 'search_scope', ['lab', 'region']),
              ('status', 'search_status', ['queued', 'ranking', 'comparing', 'done', 'failed'])],
 'sop_versions': [('status', 'version_status',
                   ['draft', 'approved', 'effective', 'superseded', 'retired'])],
 'user_roles': [('role', 'role',
                 ['evidence_technician', 'examiner', 'technical_reviewer', 'lab_manager',
                  'admin'])]}

#: table -> [(old name, new name, columns)]
UNIQUES = {'audit_entries': [('uq_audit_entries_chain_key', 'uq_audit_entries_chain_key_seq',
                    ['chain_key', 'seq'])],
 'candidates': [('uq_candidates_search_id', 'uq_candidates_search_id_rank', ['search_id', 'rank'])],
 'case_links': [('uq_case_links_case_a_id', 'uq_case_links_case_a_id_case_b_id',
                 ['case_a_id', 'case_b_id'])],
 'cases': [('uq_cases_lab_id', 'uq_cases_lab_id_year_seq', ['lab_id', 'year', 'seq'])],
 'competency_ratings': [('uq_competency_ratings_assessment_id',
                         'uq_competency_ratings_assessment_id_area', ['assessment_id', 'area'])],
 'custody_events': [('uq_custody_events_item_id', 'uq_custody_events_item_id_seq',
                     ['item_id', 'seq'])],
 'equipment': [('uq_equipment_lab_id', 'uq_equipment_lab_id_code', ['lab_id', 'code'])],
 'examination_equipment': [('uq_examination_equipment_examination_id',
                            'uq_examination_equipment_examination_id_equipment_id',
                            ['examination_id', 'equipment_id'])],
 'examination_items': [('uq_examination_items_examination_id',
                        'uq_examination_items_examination_id_item_id',
                        ['examination_id', 'item_id'])],
 'feature_sets': [('uq_feature_sets_sha256', 'uq_feature_sets_sha256_algorithm_version',
                   ['sha256', 'algorithm_version'])],
 'findings': [('uq_findings_examination_id', 'uq_findings_examination_id_rule_id',
               ['examination_id', 'rule_id'])],
 'items': [('uq_items_case_id', 'uq_items_case_id_number', ['case_id', 'number'])],
 'nonconformities': [('uq_nonconformities_lab_id', 'uq_nonconformities_lab_id_reference',
                      ['lab_id', 'reference'])],
 'scans': [('uq_scans_item_id', 'uq_scans_item_id_sha256', ['item_id', 'sha256'])],
 'sop_acknowledgements': [('uq_sop_acknowledgements_version_id',
                           'uq_sop_acknowledgements_version_id_user_id',
                           ['version_id', 'user_id'])],
 'sop_steps': [('uq_sop_steps_version_id', 'uq_sop_steps_version_id_position',
                ['version_id', 'position'])],
 'sop_versions': [('uq_sop_versions_sop_id', 'uq_sop_versions_sop_id_number',
                   ['sop_id', 'number'])],
 'sops': [('uq_sops_lab_id', 'uq_sops_lab_id_code', ['lab_id', 'code'])],
 'step_records': [('uq_step_records_examination_id', 'uq_step_records_examination_id_step_id',
                   ['examination_id', 'step_id'])],
 'storage_locations': [('uq_storage_locations_lab_id', 'uq_storage_locations_lab_id_code',
                        ['lab_id', 'code'])],
 'user_roles': [('uq_user_roles_user_id', 'uq_user_roles_user_id_role', ['user_id', 'role'])]}

#: append-only tables and the triggers that refuse UPDATE and DELETE (as 0001 and 0003)
APPEND_ONLY = ("custody_events", "audit_entries", "examination_reviews")


def _check(column, values):
    quoted = ", ".join("'" + v + "'" for v in values)
    return f"{column} IN ({quoted})"


def _sqlite_triggers(table):
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb.lower()}")
        op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END")


def _alter(upgrading):
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in sorted(set(ENUMS) | set(UNIQUES)):
        with op.batch_alter_table(table, recreate="always" if sqlite else "never") as batch:
            for old, new, columns in UNIQUES.get(table, []):
                drop, create = (old, new) if upgrading else (new, old)
                batch.drop_constraint(batch.f(drop), type_="unique")
                batch.create_unique_constraint(batch.f(create), columns)
            for column, name, values in ENUMS.get(table, []):
                if upgrading:
                    batch.create_check_constraint(batch.f(f"ck_{table}_{name}"),
                                                  _check(column, values))
                else:
                    batch.drop_constraint(batch.f(f"ck_{table}_{name}"), type_="check")
        if sqlite and table in APPEND_ONLY:
            _sqlite_triggers(table)


def upgrade():
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.Enum('celery', name='topic', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('available_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_until', sa.DateTime(), nullable=True),
    sa.Column('claim', sa.String(length=32), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_claim'), ['claim'], unique=False)
        batch_op.create_index('ix_outbox_pending', ['sent_at', 'available_at'], unique=False)
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_changed_at', sa.DateTime(), nullable=False,
                                      server_default=sa.func.current_timestamp()))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                      server_default='0'))
    _alter(upgrading=True)


def downgrade():
    _alter(upgrading=False)
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.drop_column('attempts')
        batch_op.drop_column('status_changed_at')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')
        batch_op.drop_index(batch_op.f('ix_outbox_claim'))
    op.drop_table('outbox')
