"""Processing: each space's pipeline run and its parts, recognized and caption segments;
enum columns store values.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _space_id() -> sa.Column[str]:
    return sa.Column(
        "space_id", sa.String(32), sa.ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    # Enum columns hold values ("recorded"), no longer names ("RECORDED"): the strings the API
    # shows, and what raw SQL (full-text search's filters) compares with.
    op.execute("UPDATE spaces SET state = lower(state)")
    op.execute("UPDATE participants SET role = lower(role)")
    op.create_table(
        "processing",
        sa.Column(
            "space_id",
            sa.String(32),
            sa.ForeignKey("spaces.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("model", sa.String(300), nullable=True),
        sa.Column("published_run", sa.Integer(), nullable=True),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "processing_parts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _space_id(),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("waits_for", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("elapsed_s", sa.Float(), nullable=True),
        sa.UniqueConstraint("space_id", "run", "name", name="uq_processing_parts_space_run_name"),
    )
    op.create_table(
        "track_segments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _space_id(),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
    )
    op.create_index(
        "ix_track_segments_space_run_participant",
        "track_segments",
        ["space_id", "run", "participant_id"],
    )
    op.create_table(
        "caption_segments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _space_id(),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("speaker_id", sa.String(32), nullable=False),
        sa.Column("speaker", sa.String(80), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_caption_segments_space_run", "caption_segments", ["space_id", "run", "position"]
    )


def downgrade() -> None:
    op.drop_table("caption_segments")
    op.drop_table("track_segments")
    op.drop_table("processing_parts")
    op.drop_table("processing")
    op.execute("UPDATE spaces SET state = upper(state)")
    op.execute("UPDATE participants SET role = upper(role)")
