"""Failed-authentication throttle per client (pure: the caller passes the time in)."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field


@dataclass
class FailureThrottle:
    """Block a client for ``block_s`` once it failed authentication ``max_failures`` times within ``window_s``.

    At most ``max_clients`` clients are remembered (the least recently failing are forgotten first),
    so a flood of source addresses cannot grow memory without bound.
    """

    max_failures: int = 10
    window_s: float = 60.0
    block_s: float = 60.0
    max_clients: int = 10_000
    _failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)
    _blocked_until: dict[str, float] = field(default_factory=dict)

    def retry_after(self, client: str, now: float) -> float | None:
        """Return the seconds ``client`` must still wait, or None if it may try."""
        until = self._blocked_until.get(client)
        if until is None:
            return None
        if now >= until:
            del self._blocked_until[client]
            return None
        return until - now

    def failed(self, client: str, now: float) -> bool:
        """Record one failed attempt of ``client``; return True if it is now blocked."""
        times = self._failures.pop(client, None) or deque()
        times.append(now)
        while times and now - times[0] > self.window_s:
            times.popleft()
        if len(times) >= self.max_failures:
            self._blocked_until[client] = now + self.block_s
            self._forget_oldest()
            return True
        self._failures[client] = times
        self._forget_oldest()
        return False

    def _forget_oldest(self) -> None:
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)
        if len(self._blocked_until) > self.max_clients:
            for client in sorted(self._blocked_until, key=self._blocked_until.__getitem__)[: -self.max_clients]:
                del self._blocked_until[client]
