"""Instructions a service's hot path spends per record, counted by callgrind: this tree against a base commit.

Usage: python bench/count_instructions.py [--service detector|responder] [--base a4145d0] [--events 40000]
[--targets 2000]

On a shared 2-core machine one timing moves by 10 % or more, so a change of a few per cent in a
hot path cannot be seen in seconds. Instructions can: the count of a run is the same each time
(hash seed fixed). This runs the service bench's backlog (``bench_service_throughput``, a fixed end
time) through the two halves of the service's hot path, each under callgrind with collection
switched on only around that half.

Detector (``scrapes``):

- decode: ``wire.decode_scrape`` of every record;
- observe: the handler's waves (at most one scrape per target, ``MAX_RECORDS`` records a batch,
  cut here as ``MetricsHandler.on_metrics`` cuts them, so that older bases run the same driver)
  through ``observe_together``: rules, column, the statistical step, judging, degradation.

Responder (``anomalies``: an episode per target detected, updated, resolved):

- decode: ``wire.decode_anomaly`` of every record;
- decide: what ``Responder._group`` does per anomaly, without the bus: ``decide_anomaly``, each
  decided event encoded (as the bus sends it) and folded back, ``fold_suppressed``.

It does so for this working tree and for ``--base`` (checked out in a temporary git worktree),
and prints instructions per record side by side with the ratio to the base. An instruction
count is not a time: a cache miss costs a hundred instructions and is counted as one. Needs
valgrind, a C compiler and ``valgrind/callgrind.h`` (Debian: valgrind); about 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

ROOT = Path(__file__).resolve().parents[1]
PHASES: Final = {"detector": ("decode", "observe"), "responder": ("decode", "decide")}
_TOGGLE_C = "#include <valgrind/callgrind.h>\nvoid toggle(void) { CALLGRIND_TOGGLE_COLLECT; }\n"


def inner(service: str, tree: Path, phase: str, backlog: Path, toggle: Path) -> None:
    """Run one phase of ``service`` over the backlog with callgrind collecting only around it (under valgrind)."""
    import ctypes

    sys.path.insert(0, str(tree))
    from shared import wire
    from shared.runtime import settle_heap

    raws: list[bytes] = pickle.loads(backlog.read_bytes())
    collect = ctypes.CDLL(str(toggle)).toggle
    decode: Callable[[bytes], Any] = wire.decode_scrape if service == "detector" else wire.decode_anomaly
    settle_heap()
    if phase == "decode":
        collect()
    records = [decode(raw) for raw in raws]
    if phase == "decode":
        collect()
        return
    (_observe if service == "detector" else _decide)(records, collect)


def _observe(scrapes: list[Any], collect: Callable[[], None]) -> None:
    """The detector's second half: the handler's waves through ``observe_together``."""
    from services.detector.domain.anomaly.pool import StatePool
    from services.detector.domain.target import TargetDetector, observe_together
    from services.detector.settings import DetectorSettings
    from shared.consumer import MAX_RECORDS

    config = DetectorSettings(logs={"enabled": False}).detection()
    pool = StatePool(config.statistical.detector, series_major=False)
    targets: dict[str, TargetDetector] = {}
    received_at = datetime.now(UTC)
    collect()
    for start in range(0, len(scrapes), MAX_RECORDS):
        waves: list[list[tuple[TargetDetector, Any]]] = []
        depth: dict[str, int] = {}
        for event in scrapes[start : start + MAX_RECORDS]:
            assert event is not None
            scrape = event.data
            detector = targets.get(scrape.target)
            if detector is None:
                detector = targets[scrape.target] = TargetDetector(scrape.target, config, pool)
            n = depth[scrape.target] = depth.get(scrape.target, -1) + 1
            if n == len(waves):
                waves.append([])
            waves[n].append((detector, scrape))
        for wave in waves:
            observe_together(wave, received_at=received_at)
    collect()


def _decide(anomalies: list[Any], collect: Callable[[], None]) -> None:
    """The responder's second half: decide each anomaly, encode and fold what it decides."""
    from services.responder.domain import lifecycle
    from services.responder.domain.state import Book, fold_incident_event, fold_suppressed
    from services.responder.settings import ResponderSettings
    from shared.events import encode_event

    book, policy = Book(), ResponderSettings().policy()
    collect()
    for event in anomalies:
        assert event is not None
        decision = lifecycle.decide_anomaly(book, event, now=event.time, policy=policy)
        for decided in decision.events:
            encode_event(decided)
            fold_incident_event(book, decided)
        fold_suppressed(book, event, silenced=decision.outcome.startswith("silenced"))
    collect()


def count(service: str, tree: Path, phase: str, backlog: Path, toggle: Path, work: Path) -> int:
    """Instructions callgrind counted in ``phase`` of ``tree``'s ``service``."""
    out = work / f"callgrind.{tree.name}.{phase}"
    command = [
        "valgrind", "--tool=callgrind", "--collect-atstart=no", f"--callgrind-out-file={out}",
        sys.executable, __file__, "--service", service, "--inner", phase, "--tree", str(tree),
        "--backlog", str(backlog), "--toggle", str(toggle),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for line in out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise SystemExit(f"no instruction total in {out}")


def build_toggle(work: Path) -> Path:
    """Compile the one-function library that switches callgrind's collection on and off."""
    if shutil.which("valgrind") is None or shutil.which("cc") is None:
        raise SystemExit("needs valgrind and a C compiler: apt-get install valgrind gcc")
    source, library = work / "toggle.c", work / "toggle.so"
    source.write_text(_TOGGLE_C)
    built = subprocess.run(["cc", "-shared", "-fPIC", "-o", str(library), str(source)], capture_output=True, text=True)
    if built.returncode != 0:
        raise SystemExit(f"could not build the callgrind switch (valgrind/callgrind.h?): {built.stderr.strip()}")
    return library


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", choices=tuple(PHASES), default="detector")
    parser.add_argument("--base", default="HEAD", help="git commit to compare this working tree with")
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--targets", type=int, default=2_000)
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--backlog", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--toggle", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    phases = PHASES[args.service]
    if args.inner:
        inner(args.service, args.tree, args.inner, args.backlog, args.toggle)
        return
    sys.path.insert(0, str(ROOT / "bench"))
    sys.path.insert(0, str(ROOT))
    from bench_service_throughput import anomalies, scrapes

    records = scrapes if args.service == "detector" else anomalies
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        toggle = build_toggle(work)
        end = datetime(2026, 1, 1, tzinfo=UTC)
        backlog = work / "backlog.pickle"
        backlog.write_bytes(pickle.dumps([raw for _, raw in records(args.events, args.targets, end=end)]))
        base = work / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base), args.base], check=True)
        try:
            rows = [(f"{args.base} (base)", base), ("this working tree", ROOT)]
            with ThreadPoolExecutor(max_workers=os.cpu_count()) as runs:  # one valgrind per core
                jobs = {name: [runs.submit(count, args.service, tree, phase, backlog, toggle, work) for phase in phases]
                        for name, tree in rows}  # fmt: skip
            counts = {name: [job.result() for job in phase_jobs] for name, phase_jobs in jobs.items()}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=True)
    unit = "scrape" if args.service == "detector" else "anomaly"
    print(f"{args.service}: instructions per {unit} (callgrind), {args.events:,} records over {args.targets:,} targets")
    print(f"{'version':<28} {phases[0]:>9} {phases[1]:>9} {'total':>9} {'vs base':>8}")
    base_total = sum(counts[rows[0][0]])
    for name, (first, second) in counts.items():
        n = args.events
        print(f"{name:<28} {first // n:>9,} {second // n:>9,} {(first + second) // n:>9,} "
              f"{(first + second) / base_total:>8.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
