"""Property tests: ledger.core.canonical agrees with rfc8785 and accepts only canonical bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.canonical import (
    MAX_SAFE_INTEGER,
    canonical,
    canonical_unchecked,
    parse,
    parse_canonical,
)
from ledger.core.errors import FormatError

# Characters where code-point order and UTF-16 order disagree (U+E000..U+FFFF sorts
# after astral characters in UTF-16), plus characters with special escaping rules.
TRICKY = ["a", "B", "\x00", "\x1f", "\x7f", '"', "\\", "/", "\u2028", "é", "\ue000", "\uffff",
          "\U0001f602", "\U00010000", "\U0010ffff"]  # fmt: skip

chars = st.one_of(
    st.characters(exclude_categories=["Cs"]),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF, exclude_categories=["Cs"]),
    st.sampled_from(TRICKY),
)
texts = st.text(alphabet=chars, max_size=12)
keys = st.one_of(texts, st.text(alphabet=st.sampled_from(TRICKY), max_size=3))
safe_ints = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
scalars = st.one_of(st.none(), st.booleans(), safe_ints, texts)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(keys, children, max_size=5),
    ),
    max_leaves=25,
)


@settings(max_examples=200)
@given(json_values)
def test_canonical_equals_rfc8785(value: Any) -> None:
    assert canonical(value) == rfc8785.dumps(value)
    assert canonical_unchecked(value) == rfc8785.dumps(value)


@settings(max_examples=200)
@given(st.dictionaries(st.text(alphabet=st.sampled_from(TRICKY), max_size=3), safe_ints))
def test_key_order_is_utf16_order(value: dict[str, int]) -> None:
    data = canonical(value)
    assert data == rfc8785.dumps(value)
    order = list(parse_canonical(data))
    assert order == sorted(value, key=lambda k: k.encode("utf-16-be"))


@settings(max_examples=200)
@given(json_values)
def test_parse_canonical_round_trip(value: Any) -> None:
    assert parse_canonical(canonical(value)) == value


@settings(max_examples=200)
@given(json_values)
def test_non_canonical_serialisations_are_rejected(value: Any) -> None:
    data = canonical(value)
    variants = [
        json.dumps(value, indent=1, ensure_ascii=False).encode(),
        json.dumps(value, ensure_ascii=False).encode(),  # ", " and ": " separators
        json.dumps(value, separators=(",", ":")).encode(),  # \uXXXX escapes
        b" " + data,
        data + b"\n",
    ]
    if isinstance(value, dict) and len(value) > 1:
        reordered = dict(reversed(list(parse_canonical(data).items())))
        variants.append(json.dumps(reordered, ensure_ascii=False, separators=(",", ":")).encode())
    checked = 0
    for variant in variants:
        if variant == data:
            continue
        checked += 1
        with pytest.raises(FormatError):
            parse_canonical(variant)
        # ... but it is still valid JSON holding the same value.
        assert parse(variant) == value
    assert checked >= 2


@pytest.mark.parametrize(
    "data",
    [b'"caf\\u00e9"', b'"\\/"', b'"\\u0041"', b"-0", b"01", b"1E2", b"[1 ]", b'{"b":1,"a":2}'],
)
def test_non_canonical_literals_are_rejected(data: bytes) -> None:
    with pytest.raises(FormatError):
        parse_canonical(data)


@settings(max_examples=100)
@given(st.floats(allow_nan=True, allow_infinity=True), json_values)
def test_floats_are_rejected(number: float, value: Any) -> None:
    with pytest.raises(FormatError):
        canonical(number)
    with pytest.raises(FormatError):
        canonical({"body": [value, {"x": number}]})


@pytest.mark.parametrize(
    "data", [b"1.0", b"1e2", b"1E+2", b"-0.5", b"[0.1]", b'{"a":2.5}', b"NaN", b"Infinity"]
)
def test_parse_rejects_floats_and_constants(data: bytes) -> None:
    with pytest.raises(FormatError):
        parse(data)
    with pytest.raises(FormatError):
        parse_canonical(data)


@settings(max_examples=100)
@given(
    st.one_of(
        st.integers(min_value=MAX_SAFE_INTEGER + 1),
        st.integers(max_value=-MAX_SAFE_INTEGER - 1),
    )
)
def test_out_of_range_integers_are_rejected(number: int) -> None:
    with pytest.raises(FormatError):
        canonical(number)
    with pytest.raises(FormatError):
        canonical([{"n": number}])
    if len(str(number)) < 4000:
        with pytest.raises(FormatError):
            parse(str(number).encode())


def test_integer_range_boundaries() -> None:
    assert canonical(MAX_SAFE_INTEGER) == b"9007199254740991"
    assert canonical(-MAX_SAFE_INTEGER) == b"-9007199254740991"
    assert parse_canonical(b"9007199254740991") == MAX_SAFE_INTEGER
    assert parse_canonical(b"-9007199254740991") == -MAX_SAFE_INTEGER
    for data in (b"9007199254740992", b"-9007199254740992"):
        with pytest.raises(FormatError):
            parse(data)


def test_huge_integer_literal_is_a_format_error() -> None:
    with pytest.raises(FormatError):
        parse(b"1" * 5000)


def test_deep_nesting_is_a_format_error() -> None:
    with pytest.raises(FormatError):
        parse(b"[" * 100_000 + b"]" * 100_000)


@settings(max_examples=100)
@given(st.text(alphabet=chars, max_size=5), json_values, json_values)
def test_duplicate_keys_are_rejected(key: str, first: Any, second: Any) -> None:
    k = json.dumps(key, ensure_ascii=False)
    a = canonical(first).decode()
    b = canonical(second).decode()
    data = f"{{{k}:{a},{k}:{b}}}".encode()
    with pytest.raises(FormatError):
        parse(data)
    with pytest.raises(FormatError):
        parse_canonical(data)
    nested = f"[{{{k}:{a},{k}:{b}}}]".encode()
    with pytest.raises(FormatError):
        parse(nested)


@pytest.mark.parametrize(
    "value",
    [{1: "int key"}, {"a": {(1, 2): 3}}, b"bytes", {"a": object()}, "\ud800", ["\udfff"]],
)
def test_other_non_json_values_are_rejected(value: Any) -> None:
    with pytest.raises(FormatError):
        canonical(value)


@pytest.mark.parametrize("data", [b"\xff", b'"\xed\xa0\x80"', b'"\\ud800"', b"", b"[1,]", b"{"])
def test_invalid_bytes_are_rejected(data: bytes) -> None:
    with pytest.raises(FormatError):
        parse_canonical(data)
