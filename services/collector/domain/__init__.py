"""Pure core of the collector: cadence, probe statistics, log records, offsets."""
