"""Scale-out of the detector: 1, 2, 4 ... instances in one consumer group draining one backlog.

Usage: python bench/bench_scale_out.py [--instances 1,2,4] [--events 40000] [--targets 4000]

For each instance count a fresh noida-db gets the same backlog of collector scrapes (11 samples,
keyed by target over the metrics topic's partitions), then that many detector processes
(production settings) join one group. Throughput is counted from the first committed offset to
the moment the group's committed offsets reach the end of every partition, so start-up and
joining are not in the figure. Prints events/s and the speed-up against one instance measured in
the same run. On a 2-core machine, where the broker and the instances share the cores, more than
two instances cannot go faster: the figure to compare across machines is the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka import AIOKafkaConsumer, TopicPartition
from bench_pipeline_latency import free_port, spawn, wait_ready
from bench_service_throughput import publish, scrapes

from incidentctl.embedded import start_broker
from incidentctl.procs import terminate
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics
from shared.topics import METRICS

GROUP = "detector"  # the detector's default consumer group


async def committed_progress(bootstrap: str) -> tuple[int, int]:
    """Records committed by the detector group and records on the metrics topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(METRICS.name) or set()
        tps = [TopicPartition(METRICS.name, p) for p in parts]
        ends = await consumer.end_offsets(tps)
        done = 0
        for tp in tps:
            done += await consumer.committed(tp) or 0
        return done, sum(ends.values())
    finally:
        await consumer.stop()


def drain(instances: int, records: list[tuple[str, bytes]]) -> float:
    """Events/s ``instances`` detectors reach on the backlog, from first commit to the end."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        broker = start_broker(root / "noida", root / "noida.log", elasticsearch=False)
        processes = []
        try:
            bootstrap = broker.kafka
            asyncio.run(ensure_topics(ServiceSettings(kafka_bootstrap_servers=bootstrap)))
            asyncio.run(publish(bootstrap, METRICS.name, records))
            ports = [free_port() for _ in range(instances)]
            processes = [
                spawn("detector", bootstrap, port, root / f"detector-{n}.log", instance=f"bench-detector-{n}")
                for n, port in enumerate(ports)
            ]
            for port, process in zip(ports, processes, strict=True):
                wait_ready(port, process)
            first = None
            while True:
                done, total = asyncio.run(committed_progress(bootstrap))
                now = time.monotonic()
                if first is None and done > 0:
                    first = (now, done)
                if total and done >= total and first is not None:
                    return (done - first[1]) / max(now - first[0], 1e-9)
                time.sleep(0.2)
        finally:
            for process in processes:
                terminate(process.pid)
            terminate(broker.process.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="1,2,4")
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--targets", type=int, default=4_000)
    args = parser.parse_args()
    records = scrapes(args.events, args.targets)
    print(f"detector scale-out: {args.events} scrapes over {args.targets} targets, "
          f"{METRICS.partitions} partitions, noida-db")  # fmt: skip
    print(f"{'instances':>9} {'events/s':>10} {'speed-up':>9}")
    baseline = None
    for count in (int(n) for n in args.instances.split(",")):
        rate = drain(count, records)
        baseline = baseline or rate
        print(f"{count:>9} {rate:>10,.0f} {rate / baseline:>8.2f}x")


if __name__ == "__main__":
    main()
