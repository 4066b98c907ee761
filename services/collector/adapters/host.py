"""Host-wide resource usage from psutil."""

from __future__ import annotations

import time

import psutil

from services.collector.domain.rates import CounterReading, counter_rate
from services.collector.domain.samples import HostReading


class PsutilHostSampler:
    """Reads CPU, memory, disk, load and network rates; CPU and rates cover the time since the last read."""

    def __init__(self, *, disk_path: str = "/") -> None:
        self.disk_path = disk_path
        self._sent: CounterReading | None = None
        self._recv: CounterReading | None = None
        psutil.cpu_percent(interval=None)  # primes the counter: the first real read covers time since now

    def read(self) -> HostReading:
        """Take one reading (non-blocking)."""
        net = psutil.net_io_counters()
        now = time.monotonic()
        sent, recv = CounterReading(float(net.bytes_sent), now), CounterReading(float(net.bytes_recv), now)
        reading = HostReading(
            cpu_percent=psutil.cpu_percent(interval=None),
            memory_percent=psutil.virtual_memory().percent,
            disk_percent=psutil.disk_usage(self.disk_path).percent,
            load1=psutil.getloadavg()[0],
            net_sent_per_s=counter_rate(self._sent, sent),
            net_recv_per_s=counter_rate(self._recv, recv),
        )
        self._sent, self._recv = sent, recv
        return reading
