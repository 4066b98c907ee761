"""The largest record value noida-db accepts, found by a binary search (Kafka's default batch limit: 1,048,588).

Usage: python bench/probe_record_limit.py

Starts noida-db (Kafka protocol only) on a free port and sends single records with a 1-byte key and no
headers, raising aiokafka's own `max_request_size` so that only the broker decides. Prints the largest
value accepted and the error a larger one gets.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from incidentctl.embedded import start_broker
from incidentctl.procs import terminate


async def probe(bootstrap: str, low: int = 900_000, high: int = 1_100_000) -> tuple[int, str]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=4 * high)
    await producer.start()
    refused = ""

    async def accepted(size: int) -> bool:
        nonlocal refused
        try:
            await producer.send_and_wait("record-limit-probe", b"x" * size, key=b"k")
        except KafkaError as exc:
            refused = f"{type(exc).__name__}: {exc}"
            return False
        return True

    try:
        if not await accepted(low) or await accepted(high):
            raise SystemExit(f"the limit is not between {low} and {high} bytes")
        while high - low > 1:
            mid = (low + high) // 2
            if await accepted(mid):
                low = mid
            else:
                high = mid
        return low, refused
    finally:
        await producer.stop()


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="ir-record-limit-"))
    broker = start_broker(root / "data", root / "noida.log", elasticsearch=False)
    try:
        largest, refused = asyncio.run(probe(broker.kafka))
    finally:
        terminate(broker.process.pid)
        shutil.rmtree(root, ignore_errors=True)
    print(f"noida-db: largest value accepted {largest:,} bytes (1-byte key, no headers); one byte more: {refused}")


if __name__ == "__main__":
    main()
