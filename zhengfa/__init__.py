"""zhengfa: plain text processing for public-safety work reports (no Dagster imports here)."""
