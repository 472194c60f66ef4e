"""Rule set versions and activations, on the shared ``metadata``."""

from __future__ import annotations

import sqlalchemy as sa

from orderloom.adapters.persistence.tables import UtcDateTime, metadata

__all__ = ["feature_toggles", "rule_activations", "rule_documents", "rule_set_versions"]

rule_set_versions = sa.Table(
    "rule_set_versions",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(10), nullable=False),  # valid | draft
    sa.Column("document", sa.Text(), nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("created_by", sa.String(120), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

rule_activations = sa.Table(
    "rule_activations",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(20), primary_key=True),  # exactly one row (one active version) per tenant and kind
    sa.Column("version", sa.Integer(), nullable=True),
    sa.Column("previous_version", sa.Integer(), nullable=True),
    sa.Column("candidate_version", sa.Integer(), nullable=True),
    sa.Column("candidate_bps", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("candidate_channels", sa.Text(), nullable=False, server_default=""),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

feature_toggles = sa.Table(
    "feature_toggles",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("bps", sa.Integer(), nullable=False, server_default="10000"),
    sa.Column("channels", sa.Text(), nullable=False, server_default=""),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

rule_documents = sa.Table(
    "rule_documents",
    metadata,
    sa.Column("tenant_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(80), primary_key=True),  # "custom_fields" or "template:<name>"
    sa.Column("document", sa.Text(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)
