"""The outage watch's idle connection tells a broker that went away, however briefly."""

from __future__ import annotations

import asyncio

from shared.outage import BrokerLink


def test_the_link_goes_to_the_first_bootstrap_server() -> None:
    assert (BrokerLink.to("kafka-0:9092,kafka-1:9092").host, BrokerLink.to("kafka-0:9092").port) == ("kafka-0", 9092)
    assert BrokerLink.to("[::1]:19092").host == "::1"


async def test_a_closed_connection_is_lost_once_and_then_reconnected() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    link = BrokerLink("127.0.0.1", port)
    try:
        assert not await link.lost(), "the first call connects"
        await asyncio.sleep(0.05)
        assert not await link.lost(), "an open connection is not lost"
        accepted[0].close()  # the broker process died
        await accepted[0].wait_closed()
        await asyncio.sleep(0.05)
        assert await link.lost()
        assert not await link.lost(), "reconnected to the broker that is back"
        assert len(accepted) == 2
    finally:
        link.close()
        server.close()
        await server.wait_closed()


async def test_a_broker_that_is_down_is_not_lost_again_until_the_link_was_open() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    link = BrokerLink("127.0.0.1", port)
    assert not await link.lost()
    assert not await link.lost()
