"""What waits in the staging bucket: the partitions that hold staged files, and how many files, how many bytes
and how old, per output and partition. The publisher finds its work (:func:`staged_partitions`) and says
what it left (:func:`tally_outputs`) with it; ``linehaul status`` shows it.

Finding the partitions is one listing with a delimiter (``processed/`` → ``processed/20210107/``, ...), a
request per thousand partitions whatever the number of files; tallying lists every file of the outputs
asked for, a request per thousand files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from linehaul.pipeline.naming import Partition, is_partition, partition_in, staged_output, staged_prefix
from linehaul.pipeline.ports import BlobInfo, BlobStore
from linehaul.pipeline.retries import DEFAULT_RETRIES, Retries
from linehaul.tables import Output

__all__ = ["OutputTally", "Tally", "staged_partitions", "tally_outputs"]


@dataclass(slots=True)
class Tally:
    """Files counted: how many, their bytes, and when the oldest of them was written (None if unknown)."""

    files: int = 0
    bytes: int = 0
    oldest: datetime | None = None

    def add(self, info: BlobInfo) -> None:
        self.files += 1
        self.bytes += info.size
        if info.created is not None and (self.oldest is None or info.created < self.oldest):
            self.oldest = info.created


@dataclass(slots=True)
class OutputTally:
    """The staged files of one output: in all, and per partition (oldest partition first)."""

    total: Tally = field(default_factory=Tally)
    partitions: dict[str, Tally] = field(default_factory=dict)

    def add(self, partition: str, info: BlobInfo) -> None:
        self.total.add(info)
        self.partitions.setdefault(partition, Tally()).add(info)


def staged_partitions(store: BlobStore, bucket: str, retries: Retries = DEFAULT_RETRIES) -> list[Partition]:
    """The partitions that hold files to load (``processed/YYYYMMDD/``), oldest first."""
    prefix = staged_prefix(Output.DOWNLOADS)
    folders = retries.call(lambda: list(store.folders(bucket, prefix)))
    partitions = (folder.removeprefix(prefix).rstrip("/") for folder in folders)
    return sorted(Partition(partition) for partition in partitions if is_partition(partition))


def tally_outputs(
    store: BlobStore, bucket: str, outputs: Iterable[Output], retries: Retries = DEFAULT_RETRIES
) -> dict[Output, OutputTally]:
    """The staged files of each of ``outputs``, per partition (a listing of each output's folder)."""
    wanted = list(outputs)
    tallies = {output: OutputTally() for output in wanted}
    for folder in dict.fromkeys(staged_prefix(output) for output in wanted):
        for info in retries.listing(partial(store.list, bucket, folder)):
            output, partition = staged_output(info.name), partition_in(info.name)
            if output in tallies and partition is not None:
                tallies[output].add(partition, info)
    for tally in tallies.values():
        tally.partitions = dict(sorted(tally.partitions.items()))
    return tallies
