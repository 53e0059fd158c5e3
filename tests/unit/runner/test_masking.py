from __future__ import annotations

import pytest

from circlet.runner.masking import Masker


def mask_in_pieces(secrets: list[str], data: bytes, sizes: list[int]) -> bytes:
    masker = Masker(secrets)
    out, pos = b"", 0
    for size in sizes:
        out += masker.feed(data[pos : pos + size])
        pos += size
    return out + masker.feed(data[pos:]) + masker.flush()


def test_masks_every_occurrence() -> None:
    assert mask_in_pieces(["s3cret"], b"a s3cret b s3cret", []) == b"a ******** b ********"


@pytest.mark.parametrize("split", range(1, 20))
def test_masks_across_any_chunk_boundary(split: int) -> None:
    data = b"key=hunter22-secret done"
    assert mask_in_pieces(["hunter22-secret"], data, [split]) == b"key=******** done"


def test_masks_across_many_tiny_chunks() -> None:
    data = b"xx hunter22-secret yy hunter22-secret"
    assert mask_in_pieces(["hunter22-secret"], data, [1] * len(data)) == b"xx ******** yy ********"


def test_short_and_boolean_values_are_not_masked() -> None:
    assert mask_in_pieces(["abc", "true", "False", ""], b"abc true False", []) == b"abc true False"


def test_longest_secret_wins() -> None:
    assert mask_in_pieces(["pass", "password1"], b"password1 pass", []) == b"******** ********"


def test_holds_back_only_a_possible_secret_prefix() -> None:
    masker = Masker(["hunter22"])
    assert masker.feed(b"hello hun") == b"hello "
    assert masker.feed(b"gry") == b"hungry"
    assert masker.feed(b"no secrets here") == b"no secrets here"
    assert masker.feed(b" hunt") == b" "
    assert masker.flush() == b"hunt"


def test_without_secrets_data_passes_through() -> None:
    masker = Masker([])
    assert masker.feed(b"anything") == b"anything"
    assert masker.flush() == b""


def test_multibyte_secret() -> None:
    data = "clé=mötörhead!".encode()
    assert mask_in_pieces(["mötörhead!"], data, [6, 3]) == "clé=********".encode()
