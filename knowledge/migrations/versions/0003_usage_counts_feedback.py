"""usage_counts and feedback (anonymous statistics for operators)

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_counts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("week", "channel", "dimension", "key", name="uq_usage_counts_cell"),
    )
    with op.batch_alter_table("usage_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usage_counts_week"), ["week"], unique=False)
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=True),
        sa.Column("need", sa.String(length=64), nullable=True),
        sa.Column("schemes", sa.JSON(), nullable=False),
        sa.Column("comment", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_day"), ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_day"))
    op.drop_table("feedback")
    with op.batch_alter_table("usage_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_counts_week"))
    op.drop_table("usage_counts")
