"""Recordings: the host's recording choice, the manifest, and tracks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("spaces") as batch:
        batch.add_column(
            sa.Column("record", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("manifest_key", sa.String(300), nullable=True))
    op.create_table(
        "tracks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "space_id",
            sa.String(32),
            sa.ForeignKey("spaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("participant_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("storage_key", sa.String(300), nullable=False),
        sa.Column("start_offset_ms", sa.Float(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("packets", sa.JSON(), nullable=False),
        sa.Column("codec", sa.JSON(), nullable=False),
    )
    op.create_index("ix_tracks_space_id", "tracks", ["space_id"])


def downgrade() -> None:
    op.drop_table("tracks")
    with op.batch_alter_table("spaces") as batch:
        batch.drop_column("manifest_key")
        batch.drop_column("record")
