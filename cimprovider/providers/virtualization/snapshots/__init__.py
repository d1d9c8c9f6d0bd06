"""Snapshots: the snapshot service and the snapshot settings."""
