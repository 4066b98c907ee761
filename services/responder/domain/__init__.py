"""Pure core of the responder: grouping, severity, inhibition, silences, escalation, lifecycle."""
