"""The collector's edges: psutil, HTTP probes, log files, Elasticsearch, offset store."""
