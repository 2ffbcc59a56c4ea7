"""Personal-information commitments (FORMAT.md §3)."""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.canonical import MAX_SAFE_INTEGER, canonical, parse_canonical
from ledger.core.errors import FormatError
from ledger.core.pi import Disclosure, commit, commitment_paths, is_commitment, opens, redact

SALT = bytes(range(16))
SALT_B64 = base64.b64encode(SALT).decode()


def expected_commitment(salt: bytes, path: str, value: Any) -> str:
    data = rfc8785.dumps([base64.b64encode(salt).decode(), path, value])
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/contact/phone", "13800138000"),
        ("/name", "张三"),
        ("/id", {"type": "resident", "number": "110101199003071234"}),
        ("/birth", [1990, 3, 7]),
        ("/n", -MAX_SAFE_INTEGER),
        ("/x", None),
        ("/a~1b/~0", "\U0001f602\ue000"),
    ],
)
def test_commit_matches_independent_computation(path: str, value: Any) -> None:
    obj, disclosure = commit(path, value, SALT)
    digest = expected_commitment(SALT, path, value)
    assert obj == {"$pi": digest}
    assert disclosure.to_json() == [SALT_B64, path, value]
    assert disclosure.commitment() == digest
    assert is_commitment(obj)
    assert opens(obj, disclosure)


def test_commit_with_fresh_salt() -> None:
    obj1, d1 = commit("/phone", "138")
    obj2, d2 = commit("/phone", "138")
    assert len(base64.b64decode(d1.salt, validate=True)) == 16
    assert d1.salt != d2.salt
    assert obj1 != obj2
    assert opens(obj1, d1)
    assert not opens(obj1, d2)


@pytest.mark.parametrize("size", [0, 15, 17, 32])
def test_commit_rejects_bad_salt_size(size: int) -> None:
    with pytest.raises(FormatError):
        commit("/phone", "138", bytes(size))


def test_commit_rejects_floats() -> None:
    with pytest.raises(FormatError):
        commit("/rate", 0.5, SALT)


def test_changed_disclosure_does_not_open() -> None:
    obj, disclosure = commit("/contact/phone", "13800138000", SALT)
    other_salt = base64.b64encode(bytes(range(1, 17))).decode()
    for changed in (
        Disclosure(other_salt, disclosure.path, disclosure.value),
        Disclosure(disclosure.salt, "/contact/mobile", disclosure.value),
        Disclosure(disclosure.salt, "/contact/phone/", disclosure.value),
        Disclosure(disclosure.salt, disclosure.path, "13800138001"),
        Disclosure(disclosure.salt, disclosure.path, 13800138000),
        Disclosure(disclosure.salt, disclosure.path, ["13800138000"]),
    ):
        assert not opens(obj, changed)


@settings(max_examples=200)
@given(
    salt=st.binary(min_size=16, max_size=16),
    path=st.text(max_size=10).map(lambda s: "/" + s),
    value=st.one_of(st.text(max_size=10), st.integers(-1000, 1000), st.none(), st.booleans()),
    other_salt=st.binary(min_size=16, max_size=16),
    other_path=st.text(max_size=10).map(lambda s: "/" + s),
    other_value=st.one_of(st.text(max_size=10), st.integers(-1000, 1000), st.none()),
)
def test_only_the_exact_disclosure_opens(
    salt: bytes,
    path: str,
    value: Any,
    other_salt: bytes,
    other_path: str,
    other_value: Any,
) -> None:
    obj, disclosure = commit(path, value, salt)
    assert obj["$pi"] == expected_commitment(salt, path, value)
    assert opens(obj, disclosure)
    assert opens(obj, Disclosure.from_json(parse_canonical(canonical(disclosure.to_json()))))
    salt_b64 = base64.b64encode(other_salt).decode()
    if other_salt != salt:
        assert not opens(obj, Disclosure(salt_b64, path, value))
    if other_path != path:
        assert not opens(obj, Disclosure(disclosure.salt, other_path, value))
    if canonical(other_value) != canonical(value):
        assert not opens(obj, Disclosure(disclosure.salt, path, other_value))


@pytest.mark.parametrize(
    "not_a_commitment",
    [
        {"$pi": "AB" * 32},
        {"$pi": "ab" * 31},
        {"$pi": "ab" * 32, "extra": 1},
        {"pi": "ab" * 32},
        {"$pi": 5},
        "ab" * 32,
        ["ab" * 32],
        None,
    ],
)
def test_opens_requires_a_commitment_object(not_a_commitment: Any) -> None:
    _, disclosure = commit("/x", "y", SALT)
    assert not is_commitment(not_a_commitment)
    assert not opens(not_a_commitment, disclosure)


def test_disclosure_from_json() -> None:
    d = Disclosure.from_json([SALT_B64, "/contact/phone", {"n": "138"}])
    assert d == Disclosure(SALT_B64, "/contact/phone", {"n": "138"})
    assert d.to_json() == [SALT_B64, "/contact/phone", {"n": "138"}]


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"salt": SALT_B64, "path": "/a", "value": 1},
        [SALT_B64, "/a"],
        [SALT_B64, "/a", 1, 2],
        (SALT_B64, "/a", 1),
        ["not base64!", "/a", 1],
        [base64.b64encode(bytes(15)).decode(), "/a", 1],
        [base64.b64encode(bytes(17)).decode(), "/a", 1],
        [SALT_B64.rstrip("="), "/a", 1],
        [SALT_B64[:-3] + "B==", "/a", 1],  # non-zero unused bits
        [5, "/a", 1],
        [SALT_B64, "a", 1],
        [SALT_B64, "", 1],
        [SALT_B64, 7, 1],
        [SALT_B64, None, 1],
    ],
)
def test_disclosure_from_json_rejects(data: Any) -> None:
    with pytest.raises(FormatError):
        Disclosure.from_json(data)


NESTED: dict[str, Any] = {
    "name": "张三",
    "contact": {"phone": "13800138000", "a/b": "slash", "m~n": "tilde", "~1": "literal"},
    "people": ["李四", "王五", {"id": "110101199003071234"}],
    "amount_fen": 5000,
}
NESTED_PATHS = {
    "/name": "张三",
    "/contact/phone": "13800138000",
    "/contact/a~1b": "slash",
    "/contact/m~0n": "tilde",
    "/contact/~01": "literal",
    "/people/1": "王五",
    "/people/2/id": "110101199003071234",
}


def test_redact_nested_paths() -> None:
    original = copy.deepcopy(NESTED)
    salts = {p: hashlib.sha256(p.encode()).digest()[:16] for p in NESTED_PATHS}
    out, disclosures = redact(NESTED, NESTED_PATHS, salts)
    assert original == NESTED  # the input is not modified
    assert [d.path for d in disclosures] == list(NESTED_PATHS)
    for d in disclosures:
        assert d.value == NESTED_PATHS[d.path]
        assert d.salt == base64.b64encode(salts[d.path]).decode()
    expected = {
        "name": {"$pi": expected_commitment(salts["/name"], "/name", "张三")},
        "contact": {
            "phone": {"$pi": expected_commitment(salts["/contact/phone"], "/contact/phone",
                                                 "13800138000")},
            "a/b": {"$pi": expected_commitment(salts["/contact/a~1b"], "/contact/a~1b", "slash")},
            "m~n": {"$pi": expected_commitment(salts["/contact/m~0n"], "/contact/m~0n", "tilde")},
            "~1": {"$pi": expected_commitment(salts["/contact/~01"], "/contact/~01", "literal")},
        },
        "people": [
            "李四",
            {"$pi": expected_commitment(salts["/people/1"], "/people/1", "王五")},
            {"id": {"$pi": expected_commitment(salts["/people/2/id"], "/people/2/id",
                                               "110101199003071234")}},
        ],
        "amount_fen": 5000,
    }  # fmt: skip
    assert out == expected
    assert sorted(commitment_paths(out)) == sorted(NESTED_PATHS)
    assert commitment_paths(NESTED) == []


def test_redact_whole_subtree() -> None:
    out, [d] = redact(NESTED, ["/contact"], {"/contact": SALT})
    assert d.value == NESTED["contact"]
    assert out["contact"] == {"$pi": expected_commitment(SALT, "/contact", NESTED["contact"])}
    assert commitment_paths(out) == ["/contact"]


def test_redact_empty_key() -> None:
    out, [d] = redact({"": {"": "x"}}, ["//"], {"//": SALT})
    assert out == {"": {"": {"$pi": expected_commitment(SALT, "//", "x")}}}
    assert d.value == "x"
    assert commitment_paths(out) == ["//"]


@pytest.mark.parametrize(
    "paths",
    [
        ["/missing"],
        ["/contact/missing"],
        ["/contact/a/b"],  # unescaped slash: no member "a"
        ["/people/3"],
        ["/people/x"],
        ["/amount_fen/0"],
        ["/name/0"],
        [""],
        ["name"],
        ["/name", "/name"],  # already a commitment the second time
    ],
)
def test_redact_rejects(paths: list[str]) -> None:
    with pytest.raises(FormatError):
        redact(NESTED, paths)


@pytest.mark.parametrize("token", ["-1", "01", "+1", " 1", "1_0", "\u0661"])
def test_redact_rejects_non_canonical_array_index(token: str) -> None:
    body = {"list": [f"v{i}" for i in range(12)]}
    with pytest.raises(FormatError):
        redact(body, [f"/list/{token}"])


# --- property: redact and restore ---------------------------------------------------------

key_text = st.lists(st.sampled_from(["a", "~", "/", "0", "1", "é", "$pi", "~1"]), max_size=3).map(
    "".join
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
    st.text(max_size=8),
)
trees: st.SearchStrategy[Any] = st.recursive(
    leaves,
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(key_text, c, max_size=3)),
    max_leaves=12,
)
bodies = st.dictionaries(key_text, trees, max_size=4)


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def leaf_locations(node: Any, where: tuple[str | int, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(JSON pointer, key tuple) of every scalar leaf."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaf_locations(v, (*where, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaf_locations(v, (*where, i))
    else:
        yield "".join(f"/{escape(str(k))}" for k in where), where


def get(node: Any, where: tuple[str | int, ...]) -> Any:
    for k in where:
        node = node[k]
    return node


@settings(max_examples=200)
@given(st.data())
def test_redact_round_trip(data: st.DataObject) -> None:
    body = data.draw(bodies, label="body")
    locations = dict(leaf_locations(body))
    chosen: list[str] = []
    if locations:
        chosen = data.draw(st.lists(st.sampled_from(sorted(locations)), unique=True), label="paths")
    original = copy.deepcopy(body)
    out, disclosures = redact(body, chosen)
    assert body == original
    assert sorted(commitment_paths(out)) == sorted(chosen)
    assert [d.path for d in disclosures] == chosen
    restored = copy.deepcopy(out)
    for d in disclosures:
        where = locations[d.path]
        commitment = get(out, where)
        assert is_commitment(commitment)
        assert opens(commitment, d)
        assert d.value == get(body, where)
        again = Disclosure.from_json(parse_canonical(canonical(d.to_json())))
        assert again == d
        parent = get(restored, where[:-1])
        parent[where[-1]] = again.value
    assert restored == body
    # The redacted body is still canonical JSON.
    assert parse_canonical(canonical(out)) == out
