"""Pure detection logic of the detector service (no I/O)."""
