"""The linehaul command: parse and sample, end to end through main()."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from linehaul.cli import main
from linehaul.logs.sample import sample_lines, write_sample
from tests.pipeline.helpers import expected_outputs

_OUTPUT_FILES = {
    "downloads": "file_downloads.ndjson",
    "simple": "simple_requests.ndjson",
    "unprocessed": "unprocessed.log",
    "ignored": "ignored.log",
}


def _expected(lines: list[str]) -> dict[str, list[str]]:
    """What the four output files should hold, line for line (the ingestor stages the same outputs)."""
    return {_OUTPUT_FILES[key]: data.decode().splitlines() for key, data in expected_outputs(lines).items()}


def test_parse_writes_every_line_to_exactly_one_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_sample(tmp_path / "sample.log.gz", lines=3000, seed=7)
    assert main(["parse", "--output-dir", str(tmp_path / "out"), str(log)]) == 0
    expected = _expected(list(sample_lines(3000, seed=7)))
    for name, lines in expected.items():
        assert (tmp_path / "out" / name).read_text().splitlines() == lines, name
    reasons = [
        json.loads(line)
        for line in (tmp_path / "out" / "unprocessed.reasons.ndjson").read_text().splitlines()
    ]
    assert len(reasons) == len(expected["unprocessed.log"]) > 0
    assert {"file", "line", "field", "reason"} == set(reasons[0])
    summary = capsys.readouterr().out.strip()
    counts = dict(part.split("=") for part in summary.split())
    assert int(counts["lines"]) == 3000 == sum(len(lines) for lines in expected.values())
    assert int(counts["file_downloads"]) == len(expected["file_downloads.ndjson"])
    assert int(counts["unprocessed"]) == len(expected["unprocessed.log"])


def test_unprocessed_lines_are_kept_byte_for_byte(tmp_path: Path) -> None:
    raw = b"download|not a date\xff|x\n\nsimple|Thu, 07 Jan 2021 20:54:54 GMT|US|/simple/x/|T|C||||curl/7\r\n"
    (tmp_path / "in.log").write_bytes(raw)
    assert main(["parse", "-o", str(tmp_path / "out"), str(tmp_path / "in.log")]) == 0
    assert (tmp_path / "out" / "unprocessed.log").read_bytes() == b"download|not a date\xff|x\n\n"
    assert (tmp_path / "out" / "simple_requests.ndjson").read_text().count("\n") == 1


def test_several_files_and_stdin_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = list(sample_lines(50, seed=1)), list(sample_lines(50, seed=2))
    (tmp_path / "a.log").write_text("\n".join(first) + "\n")
    monkeypatch.setattr("sys.stdin", type("Stdin", (), {"buffer": __import__("io").BytesIO(gzip.compress(
        ("\n".join(second) + "\n").encode()))})())  # fmt: skip
    assert main(["parse", "-o", str(tmp_path / "out"), str(tmp_path / "a.log"), "-"]) == 0
    expected = _expected(first + second)
    assert (tmp_path / "out" / "file_downloads.ndjson").read_text().splitlines() == expected[
        "file_downloads.ndjson"
    ]


def test_a_missing_file_is_named_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["parse", "-o", str(tmp_path / "out"), str(tmp_path / "missing.log.gz")]) == 2
    assert capsys.readouterr().err == f"linehaul parse: {tmp_path / 'missing.log.gz'}: no such file\n"
    assert not (tmp_path / "out").exists()


def test_a_corrupt_file_is_named_its_lines_kept_and_the_status_is_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = list(sample_lines(4000, seed=3))
    packed = gzip.compress(("\n".join(lines) + "\n").encode())
    (tmp_path / "cut.log.gz").write_bytes(packed[: len(packed) // 2])
    assert main(["parse", "-o", str(tmp_path / "out"), str(tmp_path / "cut.log.gz")]) == 1
    captured = capsys.readouterr()
    assert f"linehaul parse: {tmp_path / 'cut.log.gz'}: the gzip data is cut short" in captured.err
    assert "Traceback" not in captured.err
    counts = dict(part.split("=") for part in captured.out.split())
    assert 0 < int(counts["lines"]) < 4000


def test_help_explains_the_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["parse", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for name in (
        "file_downloads.ndjson",
        "simple_requests.ndjson",
        "unprocessed.log",
        "ignored.log",
        "Exit status",
    ):
        assert name in text


def test_sample_is_deterministic(tmp_path: Path) -> None:
    assert main(["sample", str(tmp_path / "a.log.gz"), "--lines", "500", "--seed", "4"]) == 0
    assert main(["sample", str(tmp_path / "b.log.gz"), "--lines", "500", "--seed", "4"]) == 0
    assert (tmp_path / "a.log.gz").read_bytes() == (tmp_path / "b.log.gz").read_bytes()
    assert gzip.decompress((tmp_path / "a.log.gz").read_bytes()).count(b"\n") == 500
