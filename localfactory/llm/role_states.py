"""Saved KV states of the roles that share one loaded model, kept within a memory budget.

llama-cpp-python reuses the KV cache of the longest common prefix only with the prompt
that ran last on a ``Llama`` object. The factory alternates roles (planner, coder, judge)
on one object, so each role's prefix would be evaluated again every time it comes back.
A :class:`RoleStates` store keeps, per role, a copy of the sequence's KV cells and the token
ids they hold; restoring one leaves only the new suffix of the role's prompt to evaluate.

The copy is taken with llama.cpp's per-sequence state functions, which hold the KV cells
and nothing else. ``Llama.save_state()`` is avoided on purpose: it also copies a logits
array of ``n_batch x n_vocab`` floats (about 311 MB for Qwen's 151,936-token vocabulary)
that sampling never reads, and its ``load_state()`` scans that array again.

The store is shared by every loaded model in the process; the least recently used state
goes first when the budget (``llm.prefix_cache_mb``) would be exceeded.
"""

from __future__ import annotations

import ctypes
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from llama_cpp import Llama

SEQ = 0
"""llama-cpp-python evaluates everything in sequence 0."""


def common_prefix(a: Sequence[int] | npt.NDArray[np.intc], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    left = np.asarray(a[:n], dtype=np.intc)
    right = np.asarray(b[:n], dtype=np.intc)
    differ = np.flatnonzero(left != right)
    return int(differ[0]) if differ.size else n


@dataclass(frozen=True)
class SavedState:
    """The KV cells of sequence 0 and the token ids they were computed from."""

    tokens: npt.NDArray[np.intc]
    kv: ctypes.Array[ctypes.c_uint8]

    @property
    def nbytes(self) -> int:
        return int(self.tokens.nbytes) + len(self.kv)


def snapshot(llama: Llama) -> SavedState | None:
    """Copy the live KV state of ``llama`` (None when nothing is evaluated, or the copy fails)."""
    import llama_cpp

    n_tokens = int(llama.n_tokens)
    if n_tokens == 0:
        return None
    size = int(llama_cpp.llama_state_seq_get_size(llama.ctx, SEQ))
    if size == 0:
        return None
    kv = (ctypes.c_uint8 * size)()
    written = int(llama_cpp.llama_state_seq_get_data(llama.ctx, kv, size, SEQ))
    if written == 0:
        return None
    if written < size:
        trimmed = (ctypes.c_uint8 * written)()
        ctypes.memmove(trimmed, kv, written)
        kv = trimmed
    return SavedState(tokens=llama.input_ids[:n_tokens].copy(), kv=kv)


def restore(llama: Llama, state: SavedState) -> bool:
    """Make ``state`` the live state of ``llama``; False (and an empty context) if llama.cpp refuses it.

    ``Llama.generate`` then sees the saved token ids as evaluated and decodes only what
    follows the longest common prefix with the new prompt.
    """
    import llama_cpp

    memory = llama_cpp.llama_get_memory(llama.ctx)
    if memory is not None:
        llama_cpp.llama_memory_seq_rm(memory, SEQ, -1, -1)
    read = int(llama_cpp.llama_state_seq_set_data(llama.ctx, state.kv, len(state.kv), SEQ))
    if read == 0:
        llama.reset()
        return False
    n = len(state.tokens)
    llama.input_ids[:n] = state.tokens
    llama.n_tokens = n
    # The logits of the last saved token are not restored: make generate() decode again.
    llama._requires_eval = True
    return True


class RoleStates:
    """Saved states by key (a loaded model and a role), least recently used evicted first."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._states: OrderedDict[Hashable, SavedState] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def used_bytes(self) -> int:
        with self._lock:
            return sum(s.nbytes for s in self._states.values())

    def __len__(self) -> int:
        return len(self._states)

    def get(self, key: Hashable) -> SavedState | None:
        with self._lock:
            state = self._states.get(key)
            if state is not None:
                self._states.move_to_end(key)
            return state

    def put(self, key: Hashable, state: SavedState) -> bool:
        """Keep ``state`` for ``key`` (replacing the older one); False when it alone exceeds the budget."""
        with self._lock:
            self._states.pop(key, None)
            if state.nbytes > self.budget_bytes:
                return False
            used = sum(s.nbytes for s in self._states.values())
            while self._states and used + state.nbytes > self.budget_bytes:
                _, evicted = self._states.popitem(last=False)
                used -= evicted.nbytes
            self._states[key] = state
            return True

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._states.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._states.clear()
