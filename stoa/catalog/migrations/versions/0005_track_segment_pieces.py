"""Track segments by piece: a track's transcription is split in pieces, each its own part.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Segments recognized before are each their track's whole: piece 0.
    with op.batch_alter_table("track_segments") as batch:
        batch.add_column(sa.Column("piece", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("track_segments") as batch:
        batch.drop_column("piece")
