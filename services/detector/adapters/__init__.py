"""Adapters of the detector service to external systems."""
