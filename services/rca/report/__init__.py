"""Incident reports: built from the incident's events, rendered as Markdown and self-contained HTML."""
