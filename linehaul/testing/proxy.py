"""A flaky HTTP proxy for the local cloud: a seeded fraction of requests fail, before or after the backend
acted.

    with FlakyProxy(stack.gcs_url, fail_before=0.05, fail_after=0.05, seed=1) as gcs:
        env = {**stack.env, "STORAGE_EMULATOR_HOST": gcs.url}   # the functions now talk through it
        ...
        print(gcs.counts().line())

It listens on 127.0.0.1 and forwards every request to ``target`` (fake-gcs-server's or the BigQuery
emulator's URL). Each request draws from one ``random.Random(seed)``: with probability ``fail_before`` it is
answered ``503`` without being forwarded; with probability ``fail_after`` it is forwarded, the backend's real
answer is read and dropped, and the client gets ``503`` all the same: the write landed, but the client cannot
know. That is what Cloud Storage and BigQuery do now and then, and what their client libraries retry. The
``503`` carries Google's JSON error body (reason ``backendError``), so both libraries see it as retryable.
Tests script particular failures with :meth:`FlakyProxy.fail_next`, and answers that break off midway (the
connection closed after some bytes of the body) with :meth:`FlakyProxy.cut_next`.

Everything else passes through intact, streamed both ways (:mod:`linehaul.local.relay`): uploads, downloads,
resumable upload sessions (a ``Location`` naming the target is rewritten to name the proxy). Requests are
handled on threads, so with concurrent clients the seed fixes the fraction of failures, not which request
gets which fault.

Its faults are those of :class:`~linehaul.testing.faults.Fault`: ``BEFORE``, ``AFTER`` and ``CUT`` (an
answer broken off).

With ``classify`` (a function of a request's method and path, such as
:func:`linehaul.testing.storage_request_kind`), the counts also tell how many requests of each kind it
received (``counts().kinds``): a proxy that fails nothing counts a client's requests by kind.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus

from linehaul.local.relay import Relay, RelayHandler
from linehaul.testing.faults import Fault

__all__ = ["FlakyCounts", "FlakyProxy"]


@dataclass(frozen=True, slots=True)
class _Scripted:
    """A fault asked for (:meth:`FlakyProxy.fail_next`, :meth:`FlakyProxy.cut_next`)."""

    fault: Fault
    method: str | None
    cut_after: int | None = None


@dataclass(frozen=True, slots=True)
class FlakyCounts:
    """Requests received, how many of them were failed before and after reaching the backend, how many
    answers were cut short, and how many requests of each kind (when the proxy classifies them)."""

    requests: int = 0
    failed_before: int = 0
    failed_after: int = 0
    kinds: Mapping[str, int] = field(default_factory=dict)
    cut: int = 0

    @property
    def failed(self) -> int:
        return self.failed_before + self.failed_after

    def line(self) -> str:
        return (
            f"{self.requests} requests, {self.failed} failed ({self.failed_before} before reaching the "
            f"backend, {self.failed_after} after it acted)"
        )


class _Handler(RelayHandler):
    """Relays each request with the fault the proxy draws for it (None: passed on intact)."""

    def relay_request(self) -> None:
        body = self.request_body()
        proxy = self.relay
        assert isinstance(proxy, FlakyProxy)
        fault, cut_after = proxy._draw(self.command, self.path)
        if fault is Fault.BEFORE:
            self._unavailable("the request did not reach the backend")
            return
        with self.forwarded(body) as response:
            if response is None:
                return
            if fault is Fault.AFTER:
                response.read()  # the backend acted; its answer is lost on the way back
                self._unavailable("the backend's answer was lost")
                return
            self.pass_back(response, cut_after=cut_after)

    def _unavailable(self, why: str) -> None:
        self.answer_error(HTTPStatus.SERVICE_UNAVAILABLE, f"flaky proxy: {why}")


class FlakyProxy(Relay):
    """An HTTP proxy on 127.0.0.1 in front of ``target`` that fails a seeded fraction of requests."""

    handler = _Handler
    name = "flaky proxy"

    def __init__(
        self,
        target: str,
        *,
        fail_before: float = 0.0,
        fail_after: float = 0.0,
        seed: int = 0,
        classify: Callable[[str, str], str] | None = None,
    ) -> None:
        super().__init__(target)
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._scripted: list[_Scripted] = []
        self.set_rates(fail_before, fail_after)
        self._counts = FlakyCounts()
        self._classify = classify

    def set_rates(self, fail_before: float, fail_after: float) -> None:
        """Change the fractions of requests failed before and after the backend acts (0 and 0: a plain
        proxy)."""
        if fail_before < 0 or fail_after < 0 or fail_before + fail_after > 1:
            raise ValueError(f"fail_before={fail_before} and fail_after={fail_after} are not fractions")
        with self._lock:
            self._fail_before, self._fail_after = fail_before, fail_after

    def fail_next(self, count: int = 1, *, after: bool, method: str | None = None) -> None:
        """Fail the next ``count`` requests (of that HTTP ``method``, if given), whatever the draws say:
        before they reach the backend, or ``after`` it acted. For tests that need one particular request
        to fail."""
        with self._lock:
            self._scripted += [_Scripted(Fault.AFTER if after else Fault.BEFORE, method)] * count

    def cut_next(self, after_bytes: int, *, method: str | None = None) -> None:
        """Break off the answer to the next request (of that HTTP ``method``, if given) after
        ``after_bytes`` bytes of its body: the connection is closed there, as a network failure would."""
        if after_bytes < 1:
            raise ValueError(f"after_bytes must be at least 1, not {after_bytes}")
        with self._lock:
            self._scripted.append(_Scripted(Fault.CUT, method, after_bytes))

    def counts(self) -> FlakyCounts:
        with self._lock:
            return self._counts

    def _draw(self, method: str, path: str) -> tuple[Fault | None, int | None]:
        kind = None if self._classify is None else str(self._classify(method, path))
        with self._lock:
            roll = self._random.random()
            matching = (n for n, item in enumerate(self._scripted) if item.method in (None, method))
            scripted = next(matching, None)
            fault, cut_after = None, None
            if scripted is not None:
                chosen = self._scripted.pop(scripted)
                fault, cut_after = chosen.fault, chosen.cut_after
            elif roll < self._fail_before:
                fault = Fault.BEFORE
            elif roll < self._fail_before + self._fail_after:
                fault = Fault.AFTER
            counts = self._counts
            kinds = counts.kinds if kind is None else {**counts.kinds, kind: counts.kinds.get(kind, 0) + 1}
            self._counts = FlakyCounts(
                counts.requests + 1,
                counts.failed_before + (fault is Fault.BEFORE),
                counts.failed_after + (fault is Fault.AFTER),
                kinds,
                counts.cut + (fault is Fault.CUT),
            )
            return fault, cut_after
