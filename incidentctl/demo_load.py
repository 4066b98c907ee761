"""Steady traffic on the demo service, so its error rate and throughput come from real requests.

Run: ``python -m incidentctl.demo_load --url http://127.0.0.1:P/ --rate 50``. It sends ``--rate``
GETs a second on a schedule (at most ``--concurrency`` in flight: a slow fault lowers the throughput
instead of piling up requests), ignores failures (they are what the demo's ``/metrics`` counts) and
waits while the service is down.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time

import httpx

log = logging.getLogger("demo-load")


async def run(url: str, rate: float, concurrency: int, *, duration_s: float | None = None) -> int:
    """Send ``rate`` requests a second to ``url`` (until ``duration_s`` if given); return how many were sent."""
    period = 1.0 / rate
    slots = asyncio.Semaphore(concurrency)
    sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=10.0, limits=limits, headers={"user-agent": "demo-load"}) as client:

        async def one() -> None:
            try:
                await client.get(url)
            except httpx.HTTPError:
                await asyncio.sleep(0.5)  # down or restarting: the collector sees it; do not spin
            finally:
                slots.release()

        tasks: set[asyncio.Task[None]] = set()
        started = next_at = time.monotonic()
        while duration_s is None or time.monotonic() - started < duration_s:
            next_at += period
            await slots.acquire()
            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                next_at = time.monotonic()  # behind (slow service): do not catch up with a burst
        await asyncio.gather(*tasks)
    return sent


def main(argv: list[str] | None = None) -> None:
    """Generate load until killed."""
    parser = argparse.ArgumentParser(prog="python -m incidentctl.demo_load", description=__doc__)
    parser.add_argument("--url", required=True, help="the demo service's application URL (its '/')")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second (default 50)")
    parser.add_argument("--concurrency", type=int, default=8, help="most requests in flight (default 8)")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.concurrency < 1:
        parser.error("--rate must be above 0 and --concurrency at least 1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log.info("sending %.0f requests/s to %s", args.rate, args.url)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args.url, args.rate, args.concurrency))


if __name__ == "__main__":
    main()
