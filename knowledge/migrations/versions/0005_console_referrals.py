"""console_referrals and console_referral_access (referral with consent)

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_referrals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("from_structure_id", sa.Integer(), nullable=False),
        sa.Column("to_structure_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("refusal_reason", sa.String(length=500), nullable=True),
        sa.Column("person_name", sa.String(length=120), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("wish", sa.String(length=1000), nullable=False),
        sa.Column("summary", sa.String(length=2000), nullable=False),
        sa.Column("consent_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("console_referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_referrals_to_structure_id"), ["to_structure_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_console_referrals_updated_at"), ["updated_at"], unique=False)
    op.create_table(
        "console_referral_access",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("console_referral_access", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_referral_access_referral_id"), ["referral_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("console_referral_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_referral_access_referral_id"))
    op.drop_table("console_referral_access")
    with op.batch_alter_table("console_referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_referrals_updated_at"))
        batch_op.drop_index(batch_op.f("ix_console_referrals_to_structure_id"))
    op.drop_table("console_referrals")
