"""What several processes of a deployment share through a `SharedStateStore`: one rate window's budget per
(client, resource family) and one token per client. Each "process" here is its own pacer or hook with
the process-wide caches cleared in between; the store is an in-memory one (the ledger's is tested in
tests/genesys_erasure, the real processes in test_pacing_across_processes.py)."""

from __future__ import annotations

import copy
import heapq
import random
import threading
from dataclasses import replace

import pytest

from genesys_cloud.client_settings import ClientSettings
from genesys_cloud.hook import GenesysCloudHook
from genesys_cloud.retry_policy import RateLimitSnapshot
from genesys_cloud.shared_state import (
    STALE_IN_FLIGHT_SECONDS,
    SharedPacing,
    adopt_token,
    drop_token,
    share_token,
)
from genesys_cloud.token_cache import SHARED_TOKENS
from tests.genesys_cloud.test_retry_policy import FixedWindowServer
from tests.support.sandbox import calls_to, statuses_served

TOKEN = "POST /oauth/token"


class MemoryStore:
    """The store's contract (atomic read-change-write of the documents of some keys) in one process."""

    def __init__(self) -> None:
        self.docs: dict[str, dict] = {}
        self._lock = threading.Lock()

    def update(self, keys, change):
        with self._lock:
            docs = [copy.deepcopy(self.docs.get(key, {})) for key in keys]
            result = change(docs)
            self.docs.update(zip(keys, docs, strict=True))
            return result


SETTINGS = ClientSettings(
    api_url="https://api.example.test",
    login_url="https://login.example.test",
    client_id="client",
    client_secret="s3cret",
    shared_state=MemoryStore(),
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def sends_before(pacers, clock: Clock, window_end: float) -> int:
    """Reserve in turn on each pacer (each a process) and count the sends scheduled inside the window."""
    sent = 0
    for _ in range(100):
        for pacer in pacers:
            if clock.now + pacer.reserve(0.0) < window_end:
                sent += 1
    return sent


def test_two_processes_spend_one_window_budget_between_them():
    store, clock = MemoryStore(), Clock()
    settings = replace(SETTINGS, shared_state=store)
    first, second = (SharedPacing(store, settings, "gdpr", clock=clock) for _ in range(2))
    first.reserve(0.0)
    first.complete(RateLimitSnapshot(count=1, allowed=10, reset_seconds=1), 0.0)

    # the headers left 9 requests in a window ending within a second: 9 in all, not 9 each
    assert sends_before([first, second], clock, window_end=clock.now + 1) == 9


def test_each_resource_family_keeps_its_own_shared_window():
    store, clock = MemoryStore(), Clock()
    settings = replace(SETTINGS, shared_state=store)
    gdpr, users = (
        SharedPacing(store, settings, "gdpr", clock=clock),
        SharedPacing(store, settings, "users", clock),
    )
    gdpr.reserve(0.0)
    gdpr.complete(RateLimitSnapshot(count=10, allowed=10, reset_seconds=1), 0.0)

    assert gdpr.reserve(0.0) >= 1.0  # spent: waits for the window's end
    assert users.reserve(0.0) == 0.0


def test_a_slot_reserved_by_a_process_that_died_stops_counting_after_a_while():
    store, clock = MemoryStore(), Clock()
    settings = replace(SETTINGS, shared_state=store)
    dead, alive = (SharedPacing(store, settings, "gdpr", clock=clock) for _ in range(2))
    dead.reserve(0.0)  # and never answered
    clock.now += STALE_IN_FLIGHT_SECONDS + 1
    alive.reserve(0.0)
    alive.complete(RateLimitSnapshot(count=1, allowed=10, reset_seconds=1), 0.0)

    assert sends_before([alive], clock, window_end=clock.now + 1) == 9


def test_the_first_token_stored_is_the_one_every_process_uses():
    settings = replace(SETTINGS, shared_state=MemoryStore())

    assert share_token(settings, "token-a", 3600, 0.0, clock=lambda: 10.0) == ("token-a", 3590.0)
    assert share_token(settings, "token-b", 3600, 5.0, clock=lambda: 10.0)[0] == "token-a"
    assert adopt_token(settings, clock=lambda: 10.0) == ("token-a", 3590.0)


def test_a_refused_token_is_dropped_for_every_process_and_replaced():
    settings = replace(SETTINGS, shared_state=MemoryStore())
    share_token(settings, "token-a", 3600, 0.0, clock=lambda: 10.0)
    drop_token(settings, "token-a")

    assert adopt_token(settings, clock=lambda: 10.0) is None
    assert share_token(settings, "token-b", 3600, 10.0, clock=lambda: 10.0)[0] == "token-b"


def test_a_token_due_for_renewal_is_not_adopted():
    settings = replace(SETTINGS, shared_state=MemoryStore())
    share_token(settings, "token-a", 3600, 0.0, clock=lambda: 0.0)

    assert adopt_token(settings, clock=lambda: 3590.0) is None


def test_the_stored_token_is_sealed_with_the_client_secret():
    store = MemoryStore()
    settings = replace(SETTINGS, shared_state=store)
    share_token(settings, "token-a", 3600, 0.0, clock=lambda: 0.0)

    assert "token-a" not in repr(store.docs)
    assert adopt_token(replace(settings, client_secret="rotated"), clock=lambda: 0.0) is None


def test_a_second_process_adopts_the_token_instead_of_logging_in(sandbox):
    store = MemoryStore()
    with GenesysCloudHook(shared_state=store) as first:
        first.request("GET", "/api/v2/gdpr/requests")
    SHARED_TOKENS.clear()  # what another process starts with
    with GenesysCloudHook(shared_state=store) as second:
        second.request("GET", "/api/v2/gdpr/requests")

    assert calls_to(sandbox, TOKEN) == 1


def test_a_token_revoked_under_one_process_is_renewed_once_for_all(sandbox):
    store = MemoryStore()
    with GenesysCloudHook(shared_state=store) as first:
        first.request("GET", "/api/v2/gdpr/requests")
        sandbox.control.revoke_tokens()
        first.request("GET", "/api/v2/gdpr/requests")  # 401, renewed and shared
    SHARED_TOKENS.clear()
    with GenesysCloudHook(shared_state=store) as second:
        second.request("GET", "/api/v2/gdpr/requests")

    assert statuses_served(sandbox)["401"] == 1
    assert calls_to(sandbox, TOKEN) == 2


def simulate_processes(seed: int, whole_seconds: bool, processes: int = 3, calls: int = 600):
    """`processes` sequential callers on one shared window, on a virtual clock, each request taking a
    random 1-300 ms to reach the server and as long to come back (so answers overtake one another).
    Returns (requests the server refused, the last answer's time)."""
    rng = random.Random(seed)
    server = FixedWindowServer(allowed=30, window=3.0, phase=0.37, whole_seconds=whole_seconds)
    store, clock = MemoryStore(), Clock()
    clock.now = 0.0
    settings = replace(SETTINGS, shared_state=store)
    pacers = [SharedPacing(store, settings, "gdpr", clock=clock) for _ in range(processes)]
    events = [(0.0, n, "reserve", n, None) for n in range(processes)]
    sent, order = 0, processes
    while events:
        clock.now, _, kind, caller, snapshot = heapq.heappop(events)
        if kind == "reserve" and sent < calls:
            sent += 1
            at = clock.now + pacers[caller].reserve(0.0) + rng.uniform(0.001, 0.3)
            heapq.heappush(events, (at, order, "arrive", caller, None))
        elif kind == "arrive":
            at = clock.now + rng.uniform(0.001, 0.3)
            heapq.heappush(events, (at, order, "answer", caller, server.handle(clock.now)))
        elif kind == "answer":
            pacers[caller].complete(snapshot, 0.0)
            heapq.heappush(events, (clock.now, order, "reserve", caller, None))
        order += 1
    return server.rejected, clock.now


@pytest.mark.parametrize("whole_seconds", [True, False])
@pytest.mark.parametrize("seed", range(5))
def test_processes_whose_answers_overtake_one_another_stay_within_the_window(seed, whole_seconds):
    rejected, elapsed = simulate_processes(seed, whole_seconds)

    assert rejected == 0
    # and most of each budget is used (round trips of up to 600 ms leave the window end less certain)
    assert 600 / (elapsed / 3.0 * 30) >= 0.75
