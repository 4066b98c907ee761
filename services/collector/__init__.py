"""Collector service: host and target metrics on an adaptive cadence, and log shipping."""
