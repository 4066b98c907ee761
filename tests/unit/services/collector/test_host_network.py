"""The host's network rates count the bytes that leave it: loopback traffic (the demo's local sink) never does."""

from __future__ import annotations

from typing import NamedTuple

from services.collector.adapters.host import PsutilHostSampler, off_host_bytes


class Nic(NamedTuple):
    bytes_sent: int
    bytes_recv: int


def test_loopback_is_left_out_of_the_host_s_traffic() -> None:
    per_nic = {"lo": Nic(10**9, 10**9), "eth0": Nic(300, 500), "wlan0": Nic(20, 40)}
    assert off_host_bytes(per_nic) == (320.0, 540.0)
    assert off_host_bytes({"lo": Nic(5, 5)}) == (0.0, 0.0)
    assert off_host_bytes({}) == (0.0, 0.0)


def test_the_sampler_reads_real_counters() -> None:
    sampler = PsutilHostSampler()
    sampler.read()
    second = sampler.read()
    assert second.net_sent_per_s is not None and second.net_sent_per_s >= 0.0
