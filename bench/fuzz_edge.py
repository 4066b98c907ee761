"""Long fuzz run of the consuming edge: generated records for every consumed topic through `shared.edge.admit`.

Prints, per topic and in total, how many records were sent, admitted, dead-lettered (refused with a
reason), dropped (neither: must be 0) and crashed (an exception escaped: must be 0). The baseline,
measured on the same records in the same run, is the schema and topic check alone (what consumers
checked before issue 11, with today's stricter schema): its "would blind" column counts records it
admits whose observation time lies more than the skew ahead of the record's time (what the 9999
scrape did to the detector). It measures the edge function; the consumer loop that calls it is
``shared/bus.py``.

    .venv/bin/python bench/fuzz_edge.py --records 5000 [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, Phase, given, seed, settings
from pydantic import ValidationError

from shared import events as ev
from shared.edge import Admitted, Refused, admit, check_event
from shared.topics import Topic
from tests.fuzz_records import CONSUMED, NOW, record_times, records

SKEW = timedelta(minutes=5)


def baseline(raw: bytes, record_time_ms: int | None, allowed: tuple[type[ev.Envelope[object]], ...]) -> str:
    """The pre-issue-11 edge: schema and topic only; reports 'admitted', 'would_blind' or 'refused'."""
    try:
        event = ev.parse_event(raw)
    except ValidationError:
        return "refused"
    if not isinstance(event, allowed):
        return "refused"
    return "would_blind" if check_event(event, record_time_ms, now=NOW, max_skew=SKEW) else "admitted"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=5_000, help="records per topic")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    totals: Counter[str] = Counter()
    started = time.perf_counter()
    print(f"{'topic':<28} {'sent':>7} {'admitted':>9} {'dead-lettered':>14} {'dropped':>8} {'crashes':>8}"
          f"   baseline: {'admitted':>9} {'would blind':>12}")  # fmt: skip
    for topic in CONSUMED:
        counts = _fuzz(topic, args.records, args.seed)
        totals.update(counts)
        _row(topic.name, counts)
    _row("total", totals)
    unaccounted = totals["sent"] - totals["admitted"] - totals["dead_lettered"]
    print(f"unaccounted for: {unaccounted}; {time.perf_counter() - started:.1f}s; seed {args.seed}")
    return 0 if unaccounted == 0 and totals["crashes"] == 0 else 1


def _fuzz(topic: Topic, n: int, seed_value: int) -> Counter[str]:
    """Send ``n`` generated records of ``topic`` through the edge and the baseline; count the outcomes."""
    counts: Counter[str] = Counter()
    run = settings(max_examples=n, phases=[Phase.generate], database=None, deadline=None,
                   suppress_health_check=list(HealthCheck))  # fmt: skip

    @seed(seed_value)
    @run
    @given(raw=records(topic), record_time_ms=record_times())
    def send(raw: bytes, record_time_ms: int | None) -> None:
        counts["sent"] += 1
        try:
            verdict = admit(raw, record_time_ms, allowed=topic.events, now=NOW, max_skew=SKEW)
        except Exception:  # what the edge must never do
            counts["crashes"] += 1
            return
        counts["admitted" if isinstance(verdict, Admitted) else
               "dead_lettered" if isinstance(verdict, Refused) and verdict.reason else "dropped"] += 1  # fmt: skip
        counts["base_" + baseline(raw, record_time_ms, topic.events)] += 1

    send()
    return counts


def _row(name: str, c: Counter[str]) -> None:
    print(f"{name:<28} {c['sent']:>7} {c['admitted']:>9} {c['dead_lettered']:>14} {c['dropped']:>8} {c['crashes']:>8}"
          f"   baseline: {c['base_admitted'] + c['base_would_blind']:>9} {c['base_would_blind']:>12}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
