"""Reading logs: plain or gzip, multi-member gzip, damaged gzip keeps what was read, blocks of whole lines."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from linehaul.logs.files import LogFileError, line_blocks, read_blocks, stream_blocks

LINES = [f"line {n} ".encode() * (n % 7 + 1) for n in range(20_000)]
DATA = b"".join(line + b"\n" for line in LINES)


def _lines(blocks: list[bytes]) -> list[bytes]:
    joined = b"".join(blocks)
    return joined.split(b"\n")[:-1] if joined.endswith(b"\n") else joined.split(b"\n")


def test_plain_and_gzip_give_the_same_lines(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(DATA)
    (tmp_path / "a.log.gz").write_bytes(gzip.compress(DATA))
    (tmp_path / "gzip-without-suffix").write_bytes(gzip.compress(DATA))
    for name in ("a.log", "a.log.gz", "gzip-without-suffix"):
        blocks = list(read_blocks(str(tmp_path / name)))
        assert all(block.endswith(b"\n") for block in blocks)
        assert _lines(blocks) == LINES


def test_concatenated_gzip_members(tmp_path: Path) -> None:
    (tmp_path / "two.gz").write_bytes(gzip.compress(DATA[:1000]) + gzip.compress(DATA[1000:]))
    assert b"".join(read_blocks(str(tmp_path / "two.gz"))) == DATA


def test_a_truncated_gzip_gives_what_was_read_then_fails(tmp_path: Path) -> None:
    packed = gzip.compress(DATA)
    (tmp_path / "cut.gz").write_bytes(packed[: len(packed) // 2])
    got: list[bytes] = []
    with pytest.raises(LogFileError, match=r"cut\.gz: the gzip data is cut short \(truncated file\)"):
        got.extend(read_blocks(str(tmp_path / "cut.gz")))
    read = b"".join(got)
    assert len(read) > len(DATA) // 4
    assert DATA.startswith(read)  # nothing invented; the partial last line is kept too


def test_corrupt_gzip_data_gives_what_was_read_then_fails(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(DATA, compresslevel=1))
    middle = len(packed) // 2
    packed[middle : middle + 64] = b"\xff" * 64
    (tmp_path / "bad.gz").write_bytes(bytes(packed))
    got: list[bytes] = []
    with pytest.raises(LogFileError, match=r"bad\.gz: corrupt gzip data"):
        got.extend(read_blocks(str(tmp_path / "bad.gz")))
    # gzip checks its one checksum at the end, so the bytes decoded just before the damage is found may be
    # garbled (they land among the unprocessed lines); everything well before it is intact
    read = b"".join(got)
    assert len(read) > len(DATA) // 4
    assert read[: len(DATA) // 4] == DATA[: len(DATA) // 4]


def test_a_missing_file() -> None:
    with pytest.raises(LogFileError, match=r"nowhere\.log: No such file or directory"):
        list(read_blocks("nowhere.log"))


def test_stream_blocks_names_the_stream() -> None:
    with pytest.raises(LogFileError, match=r"^gs://logs/x: the gzip data"):
        list(stream_blocks(io.BytesIO(gzip.compress(DATA)[:100]), "gs://logs/x"))


def test_line_blocks_regroups_pieces_without_splitting_lines() -> None:
    pieces = [DATA[i : i + 777] for i in range(0, len(DATA), 777)]
    blocks = list(line_blocks(pieces, size=5000))
    assert b"".join(blocks) == DATA
    assert all(block.endswith(b"\n") for block in blocks)
    assert max(map(len, blocks)) < 5000 + 777


def test_a_line_longer_than_a_block_stays_whole() -> None:
    long_line = b"x" * 50_000 + b"\n"
    blocks = list(line_blocks([b"a\n", long_line[:20_000], long_line[20_000:], b"b\n"], size=1000))
    assert b"\n".join(_lines(blocks)) + b"\n" == b"a\n" + long_line + b"b\n"
    assert all(block.endswith(b"\n") for block in blocks)


def test_a_last_line_without_newline() -> None:
    assert b"".join(line_blocks([b"a\nb"], size=1)) == b"a\nb"
