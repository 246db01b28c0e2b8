"""deploy/monitoring/ read as data: the log-based metrics, the alert policies, and the part of Cloud Logging's
query language their filters use, evaluated on log entries (the functions' JSON lines as Cloud Logging
stores them) so that a test can tell which lines a metric counts.

The subset: terms joined by ``AND``, each ``PATH OP VALUE``: ``PATH`` is dotted, a segment may be quoted
(``jsonPayload."@type"``); ``OP`` is ``=``, ``!=``, ``:`` (has: a substring, case-insensitive; ``:*``: the
field is present), ``>``, ``>=``, ``<``, ``<=`` (numbers, or severities in their order); ``VALUE`` is a quoted
string, ``*``, a number or a bare word. A field that holds a list matches when one of its items does, as in
Cloud Logging. :func:`parse` refuses anything else, so that the filters stay within what is tested here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tests.deploy.cloudbuild import ROOT

MONITORING = ROOT / "deploy" / "monitoring"
METRIC_TYPE = "logging.googleapis.com/user/"
SEVERITIES = ("DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY")

_TERM = re.compile(
    r'(?P<path>(?:[A-Za-z_]\w*|"[^"]*")(?:\.(?:[A-Za-z_]\w*|"[^"]*"))*)'
    r'(?P<op>>=|<=|!=|=|:|>|<)(?P<value>"[^"]*"|\*|-?\d+(?:\.\d+)?|[A-Za-z_]\w*)'
)


@dataclass(frozen=True, slots=True)
class Term:
    path: tuple[str, ...]
    op: str
    value: str | float | None  # None for ``:*``


def parse(text: str) -> tuple[Term, ...]:
    """The terms of a filter; ValueError for what is outside the subset."""
    terms = []
    for part in text.split(" AND "):
        match = _TERM.fullmatch(part.strip())
        if match is None:
            raise ValueError(f"a filter term tests/deploy/monitoring.py cannot read: {part!r}")
        path = tuple(segment.strip('"') for segment in re.findall(r'"[^"]*"|[^.]+', match["path"]))
        raw = match["value"]
        value: str | float | None
        if raw == "*":
            value = None
        elif raw.startswith('"'):
            value = raw[1:-1]
        elif re.fullmatch(r"-?\d+(?:\.\d+)?", raw):
            value = float(raw)
        else:
            value = raw
        terms.append(Term(path, match["op"], value))
    return tuple(terms)


def payload_fields(text: str) -> set[tuple[str, ...]]:
    """The ``jsonPayload`` fields a filter (or a value extractor's ``EXTRACT(...)``) reads."""
    extracted = re.fullmatch(r"EXTRACT\((.*)\)", text)
    paths = [parse(f"{extracted[1]}:*")[0].path] if extracted else [term.path for term in parse(text)]
    return {path[1:] for path in paths if path[0] == "jsonPayload"}


def entry(service: str, line: dict[str, Any]) -> dict[str, Any]:
    """The log entry Cloud Logging makes of a JSON line a 2nd gen function (a Cloud Run service) wrote: its
    ``severity`` lifted out, the rest (``message`` too) in ``jsonPayload``."""
    payload = {key: value for key, value in line.items() if key != "severity"}
    return {
        "resource": {"type": "cloud_run_revision", "labels": {"service_name": service}},
        "severity": line.get("severity", "DEFAULT"),
        "jsonPayload": payload,
    }


def _values(item: Any, path: tuple[str, ...]) -> list[Any]:
    """The values at ``path`` (lists opened at every step, as Cloud Logging does); none if absent."""
    if isinstance(item, list):
        return [found for element in item for found in _values(element, path)]
    if not path:
        return [] if item is None else [item]
    if not isinstance(item, dict) or path[0] not in item:
        return []
    return _values(item[path[0]], path[1:])


def _holds(value: Any, term: Term) -> bool:
    if term.op == ":":
        return term.value is None or str(term.value).lower() in str(value).lower()
    if term.path == ("severity",) and isinstance(term.value, str):
        left, right = SEVERITIES.index(str(value)), SEVERITIES.index(term.value)
    elif isinstance(term.value, float):
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        left, right = value, term.value  # type: ignore[assignment]
    else:
        left, right = str(value), str(term.value)  # type: ignore[assignment]
    return {
        "=": left == right,
        "!=": left != right,
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[term.op]


def matches(text: str, log_entry: dict[str, Any]) -> bool:
    """Whether Cloud Logging's filter ``text`` (in the subset) selects ``log_entry``."""
    return all(any(_holds(value, term) for value in _values(log_entry, term.path)) for term in parse(text))


def _read(folder: str) -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted((MONITORING / folder).glob("*.json"))}


def metrics() -> dict[str, dict[str, Any]]:
    """deploy/monitoring/metrics/<name>.json by name."""
    return _read("metrics")


def alerts() -> dict[str, dict[str, Any]]:
    """deploy/monitoring/alerts/<key>.json by key."""
    return _read("alerts")


def service_of(metric: dict[str, Any]) -> str:
    """The function (Cloud Run service) whose lines a metric counts."""
    (service,) = {
        str(term.value)
        for term in parse(metric["filter"])
        if term.path == ("resource", "labels", "service_name") and term.op == "="
    }
    return service


def metrics_of(alert: dict[str, Any]) -> set[str]:
    """The log-based metrics an alert policy's conditions read."""
    found = set()
    for condition in alert["conditions"]:
        (kind,) = (key for key in condition if key.startswith("condition"))
        for term in parse(condition[kind]["filter"]):
            if term.path == ("metric", "type"):
                found.add(str(term.value).removeprefix(METRIC_TYPE))
    return found


def read_lines(output: str) -> list[dict[str, Any]]:
    """The JSON lines of a function's output."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]
