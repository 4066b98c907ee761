"""Edges of the recovery service: running declared actions on this host."""
