"""RFC 8785 test vectors (cyberphone/json-canonicalization) against ledger.core.canonical."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785

from ledger.core.canonical import canonical, canonical_unchecked, parse, parse_canonical
from ledger.core.errors import FormatError
from tests.core._paths import shared_dir

JCS_DIR = shared_dir() / "vectors" / "jcs"
VECTOR_NAMES = sorted(p.name for p in (JCS_DIR / "input").glob("*.json"))


def has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(has_float(v) for v in value)
    return False


def load(name: str) -> tuple[bytes, bytes]:
    return (JCS_DIR / "input" / name).read_bytes(), (JCS_DIR / "output" / name).read_bytes()


FLOAT_FREE = [n for n in VECTOR_NAMES if not has_float(json.loads(load(n)[0]))]
WITH_FLOATS = [n for n in VECTOR_NAMES if n not in FLOAT_FREE]


def test_vectors_are_present() -> None:
    assert len(VECTOR_NAMES) >= 6
    assert FLOAT_FREE, "expected float-free vectors"
    assert WITH_FLOATS, "expected vectors with floats (values.json, structures.json)"
    for name in VECTOR_NAMES:
        assert (JCS_DIR / "output" / name).is_file()


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_output_matches_outhex(name: str) -> None:
    _, expected = load(name)
    hex_text = (JCS_DIR / "outhex" / name.replace(".json", ".txt")).read_text()
    assert bytes.fromhex(hex_text) == expected


@pytest.mark.parametrize("name", FLOAT_FREE)
def test_float_free_vector_canonicalises(name: str) -> None:
    data, expected = load(name)
    value = json.loads(data)
    assert canonical(value) == expected
    assert canonical_unchecked(value) == expected
    # The strict parser accepts the non-canonical input and yields the same value.
    assert canonical(parse(data)) == expected
    assert parse_canonical(expected) == value


@pytest.mark.parametrize("name", FLOAT_FREE)
def test_float_free_input_is_not_canonical(name: str) -> None:
    data, expected = load(name)
    assert data != expected
    with pytest.raises(FormatError):
        parse_canonical(data)


@pytest.mark.parametrize("name", WITH_FLOATS)
def test_floats_are_rejected(name: str) -> None:
    data, _ = load(name)
    with pytest.raises(FormatError):
        canonical(json.loads(data))
    with pytest.raises(FormatError):
        parse(data)


@pytest.mark.parametrize("name", WITH_FLOATS)
def test_jcs_library_matches_float_vectors(name: str) -> None:
    """The format forbids floats, but the JCS implementation it relies on is complete."""
    data, expected = load(name)
    assert bytes(rfc8785.dumps(json.loads(data))) == expected


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_parse_canonical_of_output(name: str) -> None:
    _, expected = load(name)
    if has_float(json.loads(expected)):
        with pytest.raises(FormatError):
            parse_canonical(expected)
    else:
        value = parse_canonical(expected)
        assert canonical(value) == expected
