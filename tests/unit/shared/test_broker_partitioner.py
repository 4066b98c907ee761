"""The producer's partitioner: aiokafka's default (Java's murmur2), with each key's hash remembered."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner

from shared.broker import keyed_partitioner
from shared.consumer import partition_of


def test_every_key_lands_where_the_default_partitioner_puts_it() -> None:
    """Consumers decide ownership by the default partitioner (``owns_key``): the producer must agree, twice asked."""
    rng = random.Random(3)
    default = DefaultPartitioner()
    keys = [rng.randbytes(rng.randint(1, 40)) for _ in range(500)] + [b"inc-0123456789ab", "svc-ü".encode()]
    for key in keys * 2:
        for count in (1, 3, 12):
            partitions = list(range(count))
            assert keyed_partitioner(key, partitions, partitions) == default(key, partitions, partitions)
    assert keyed_partitioner(b"svc-00042", [0, 1, 2], []) == partition_of("svc-00042", 3)


def test_a_record_without_key_goes_to_an_available_partition() -> None:
    assert keyed_partitioner(None, [0, 1, 2], [2]) == 2
    assert keyed_partitioner(None, [0, 1, 2], []) in (0, 1, 2)
