"""Host-wide resource usage from psutil (network: the interfaces other than loopback, as node-exporter's mapping)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Final, Protocol

import psutil

from services.collector.domain.rates import CounterReading, counter_rate
from services.collector.domain.samples import HostReading

LOOPBACK: Final = frozenset({"lo"})


class NicCounters(Protocol):
    """What psutil reports per network interface (``snetio``)."""

    @property
    def bytes_sent(self) -> int: ...

    @property
    def bytes_recv(self) -> int: ...


def off_host_bytes(per_nic: Mapping[str, NicCounters], *, loopback: frozenset[str] = LOOPBACK) -> tuple[float, float]:
    """Bytes sent and received over the host's interfaces, loopback left out (its traffic never leaves the host)."""
    nics = [c for name, c in per_nic.items() if name not in loopback]
    return float(sum(c.bytes_sent for c in nics)), float(sum(c.bytes_recv for c in nics))


class PsutilHostSampler:
    """Reads CPU, memory, disk, load and network rates; CPU and rates cover the time since the last read."""

    def __init__(self, *, disk_path: str = "/") -> None:
        self.disk_path = disk_path
        self._sent: CounterReading | None = None
        self._recv: CounterReading | None = None
        psutil.cpu_percent(interval=None)  # primes the counter: the first real read covers time since now

    def read(self) -> HostReading:
        """Take one reading (non-blocking)."""
        total_sent, total_recv = off_host_bytes(psutil.net_io_counters(pernic=True))
        now = time.monotonic()
        sent, recv = CounterReading(total_sent, now), CounterReading(total_recv, now)
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
