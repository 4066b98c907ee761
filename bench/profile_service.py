"""Where a service's CPU goes while it drains the backlog of bench_service_throughput.py (a stack sampler).

Usage: python bench/profile_service.py [--service detector] [--events 20000] [--targets 2000] [--lines]

Runs the service's row of ``bench_service_throughput.py`` (noida-db, the same backlog) with a thread
that samples the consuming thread's stack every half millisecond while the service drains it, then
prints the share of samples in each function: inclusive (on the stack) and self (on top; with
``--lines``, by line). cProfile's cost per call inflates small functions several times over; a
sample costs the service only the switch to the sampling thread. A sample lands at the next
bytecode after a long C call (numpy, msgspec), so that call's time is counted on its caller's line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_service_throughput as bench

from shared.consumer import GroupMember


class Sampler:
    """Samples the main thread's stack every ``interval_s`` while ``on``."""

    def __init__(self, *, lines: bool, interval_s: float = 0.0005) -> None:
        self.lines, self.interval_s = lines, interval_s
        self.inclusive: Counter[str] = Counter()
        self.own: Counter[str] = Counter()
        self.samples = 0
        self.on = False
        self._main = threading.main_thread().ident

    def run(self) -> None:
        sys.setswitchinterval(self.interval_s / 2)
        while True:
            time.sleep(self.interval_s)
            frame = sys._current_frames().get(self._main or 0) if self.on else None
            if frame is not None:
                self._take(frame)

    def _take(self, frame: FrameType) -> None:
        self.samples += 1
        self.own[f"{_where(frame)}:{frame.f_lineno}" if self.lines else _where(frame)] += 1
        seen: set[str] = set()
        current: FrameType | None = frame
        while current is not None:
            seen.add(_where(current))
            current = current.f_back
        self.inclusive.update(seen)

    def report(self, top: int) -> None:
        print(f"{self.samples} samples")
        for title, counts in (("inclusive", self.inclusive), ("self", self.own)):
            print(f"-- {title}")
            for name, count in counts.most_common(top):
                print(f"{count / max(self.samples, 1):7.1%} {name}")


def _where(frame: FrameType) -> str:
    return f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", choices=("detector", "rca", "responder"), default="detector")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--targets", type=int, default=2_000)
    parser.add_argument("--lines", action="store_true", help="self samples by line")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    sampler = Sampler(lines=args.lines)
    threading.Thread(target=sampler.run, daemon=True).start()
    drain = bench._drain

    async def sampled_drain(member: GroupMember, events: int) -> tuple[float, float]:
        while member.progress.handled == 0:
            await asyncio.sleep(0.005)
        sampler.on = True
        try:
            return await drain(member, events)
        finally:
            sampler.on = False

    bench._drain = sampled_drain
    sys.argv = [sys.argv[0], "--events", str(args.events), "--targets", str(args.targets), "--services", args.service]
    await bench.main()
    sampler.report(args.top)


if __name__ == "__main__":
    asyncio.run(main())
