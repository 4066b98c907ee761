"""One endpoint's scrape: a bad exposition is a scrape error sample, and the rates survive it."""

from __future__ import annotations

import pytest

from services.collector.adapters.exposition import ExpositionFetcher, Fetched
from services.collector.domain.exposition import ExpositionError
from services.collector.exposition_config import ExpositionConfig
from services.collector.exposition_scrape import EndpointScraper
from shared import metric_names as mn
from shared.models import MetricSample

pytestmark = pytest.mark.asyncio


class Bodies(ExpositionFetcher):
    """Answers each fetch with the next body (or raises the next error): a stand-in for the network edge."""

    def __init__(self, *answers: str | ExpositionError) -> None:
        self.answers = list(answers)

    async def fetch(self, url: str, *, timeout_s: float, max_bytes: int) -> Fetched:
        answer = self.answers.pop(0)
        if isinstance(answer, ExpositionError):
            raise answer
        return Fetched(answer, "text/plain; version=0.0.4")


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


def requests(ok: int, failed: int) -> str:
    return (
        "# TYPE http_requests_total counter\n"
        f'http_requests_total{{status="200"}} {ok}\nhttp_requests_total{{status="500"}} {failed}\n'
    )


def by_name(samples: list[MetricSample]) -> dict[str, MetricSample]:
    return {s.name: s for s in samples}


@pytest.mark.parametrize(
    ("bad", "kind"),
    [
        ('http_requests_total{status="200" 1\n', "unparseable"),
        ("\x00" * 10_000 + "{{{{\n", "unparseable"),
        ("".join(f'x{{i="{i}"}} 1\n' for i in range(200)), "too_many_series"),
        (ExpositionError("body larger than 1024 bytes", "too_large"), "too_large"),
        (ExpositionError("unreachable: ConnectError", "unreachable"), "unreachable"),
    ],
)
async def test_a_bad_scrape_is_a_scrape_error_and_the_next_good_one_rates_over_both(
    bad: str | ExpositionError, kind: str
) -> None:
    clock = Clock()
    config = ExpositionConfig(url="http://127.0.0.1:9/metrics", max_series=100)
    scraper = EndpointScraper("app", config, Bodies(requests(100, 0), bad, requests(298, 2)), clock)
    first = by_name(await scraper())
    assert first[mn.SCRAPE_UP].value == 1.0 and mn.HTTP_ERROR_RATE not in first  # a rate needs two scrapes
    clock.t = 2.0
    failed = by_name(await scraper())
    assert failed[mn.SCRAPE_UP].value == 0.0 and failed[mn.SCRAPE_UP].labels == {"endpoint": "metrics", "error": kind}
    assert set(failed) == {mn.SCRAPE_UP, mn.SCRAPE_DURATION}
    clock.t = 4.0
    again = by_name(await scraper())
    assert again[mn.SCRAPE_UP].value == 1.0 and again[mn.SCRAPE_SERIES].value == 2
    assert again[mn.HTTP_ERROR_RATE].value == pytest.approx(0.01)  # 2 of 200 since the last good scrape
    assert again[mn.HTTP_THROUGHPUT].value == pytest.approx(50.0)  # over 4 s, not 2


async def test_with_a_rate_window_the_error_rate_covers_several_scrapes() -> None:
    clock = Clock()
    config = ExpositionConfig(url="http://127.0.0.1:9/metrics", rate_window_s=4.0)
    bodies = [requests(0, 0), requests(100, 1), requests(200, 1), requests(300, 1), requests(400, 1)]
    scraper = EndpointScraper("app", config, Bodies(*bodies), clock)
    rates: list[float | None] = []
    for t in range(5):
        clock.t = 2.0 * t
        found = by_name(await scraper()).get(mn.HTTP_ERROR_RATE)
        rates.append(found.value if found is not None else None)
    assert rates[0] is None and rates[1] == pytest.approx(1 / 101)
    assert rates[2] == pytest.approx(1 / 201) and rates[3:] == [0.0, 0.0]  # 4 s: two scrapes' requests
