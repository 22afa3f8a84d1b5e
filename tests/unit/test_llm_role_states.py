"""The store of saved role states: keyed, least recently used evicted first, within its budget."""

from __future__ import annotations

import ctypes

import numpy as np

from localfactory.llm.role_states import RoleStates, SavedState, common_prefix


def state(n_tokens: int, kv_bytes: int) -> SavedState:
    return SavedState(tokens=np.arange(n_tokens, dtype=np.intc), kv=(ctypes.c_uint8 * kv_bytes)())


def test_common_prefix_counts_shared_leading_tokens():
    assert common_prefix([1, 2, 3, 4], [1, 2, 9]) == 2
    assert common_prefix(np.array([1, 2, 3], dtype=np.intc), [1, 2, 3, 4]) == 3
    assert common_prefix([], [1]) == 0
    assert common_prefix([5], [6]) == 0


def test_a_saved_state_is_returned_for_its_key_and_replaced_by_a_newer_one():
    store = RoleStates(budget_bytes=10_000)
    store.put(("m", "coder"), state(10, 100))
    newer = state(20, 100)
    store.put(("m", "coder"), newer)
    assert store.get(("m", "coder")) is newer
    assert store.get(("m", "judge")) is None
    assert len(store) == 1


def test_the_least_recently_used_state_goes_first_when_the_budget_is_full():
    one = state(0, 400).nbytes
    store = RoleStates(budget_bytes=3 * one)
    for role in ("planner", "coder", "judge"):
        store.put(role, state(0, 400))
    store.get("planner")  # planner is now more recent than coder
    store.put("test_writer", state(0, 400))
    assert store.get("coder") is None
    assert all(store.get(r) is not None for r in ("planner", "judge", "test_writer"))
    assert store.used_bytes <= 3 * one


def test_a_state_larger_than_the_whole_budget_is_not_kept():
    store = RoleStates(budget_bytes=1000)
    store.put("judge", state(0, 100))
    assert not store.put("coder", state(0, 5000))
    assert store.get("coder") is None
    assert store.get("judge") is not None


def test_a_zero_budget_keeps_nothing():
    store = RoleStates(budget_bytes=0)
    assert not store.put("coder", state(1, 1))
    assert len(store) == 0
