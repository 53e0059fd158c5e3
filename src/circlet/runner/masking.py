"""Streaming secret masking: replaces secret values in step output, even when a value is split
across two reads."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = b"********"
MIN_SECRET_LEN = 4  # characters; shorter values are not masked (CircleCI ENV-04)
UNMASKED_VALUES = frozenset({"true", "True", "false", "False"})


class Masker:
    """Masks secrets in a byte stream fed chunk by chunk.

    ``feed`` returns what can be shown now; it holds back only the tail that could be the
    start of a secret, and ``flush`` releases that tail at the end of the stream.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        values = {s.encode() for s in secrets if len(s) >= MIN_SECRET_LEN and s not in UNMASKED_VALUES}
        ordered = sorted(values, key=len, reverse=True)
        self._secrets = tuple(ordered)
        self._pattern = re.compile(b"|".join(re.escape(s) for s in ordered)) if ordered else None
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        if self._pattern is None:
            return chunk
        data = self._pattern.sub(MASK, self._pending + chunk)
        keep = self._partial_secret_len(data)
        self._pending = data[len(data) - keep :] if keep else b""
        return data[: len(data) - keep]

    def flush(self) -> bytes:
        data, self._pending = self._pending, b""
        return data

    def _partial_secret_len(self, data: bytes) -> int:
        """Length of the longest suffix of ``data`` that is a proper prefix of a secret."""
        longest = min(len(data), len(self._secrets[0]) - 1)
        for size in range(longest, 0, -1):
            tail = data[-size:]
            if any(s.startswith(tail) for s in self._secrets if len(s) > size):
                return size
        return 0
