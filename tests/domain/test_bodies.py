"""Entry bodies have exactly their type's members, each of its declared type (FORMAT.md §1).

Checked for every event type of the ledger, whether a rule reads the member or not, and
for client-signed entries before anything else is decided about them.
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import given
from hypothesis import strategies as st

from ledger.compliance import check_compliance
from ledger.core.trust import KEY_EVENT_TYPES, LEDGER_OPENED
from ledger.domain.errors import LifecycleError
from ledger.events import EVENT_CLASSES, body_schema, check_body
from tests.domain.world import World, client_entry

DOMAIN_TYPES = sorted(set(EVENT_CLASSES) - set(KEY_EVENT_TYPES) - {LEDGER_OPENED})
SCALARS: dict[Any, st.SearchStrategy[Any]] = {
    int: st.integers(-(2**53), 2**53),
    str: st.text(max_size=6),
    bool: st.booleans(),
    type(None): st.none(),
}
ANY_JSON = st.one_of(*SCALARS.values())


def values(hint: Any) -> st.SearchStrategy[Any]:
    """JSON values of the declared type ``hint``."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return ANY_JSON
    if origin in (Union, types.UnionType):
        return st.one_of(*(values(arg) for arg in args))
    if origin is list:
        return st.lists(values(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=4), values(args[1]), max_size=3)
    return SCALARS[hint]


def wrong(hint: Any) -> st.SearchStrategy[Any]:
    """JSON values that are not of type ``hint``."""
    candidates = st.one_of(
        ANY_JSON, st.lists(ANY_JSON, max_size=2), st.dictionaries(st.text(max_size=2), ANY_JSON)
    )
    return candidates.filter(lambda v: not fits(v, hint))


def fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of type ``hint``: the test's own reading of the annotations."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(fits(value, arg) for arg in args)
    if origin is list:
        return type(value) is list and all(fits(v, args[0]) for v in value)
    if origin is dict:
        return type(value) is dict and all(fits(v, args[1]) for v in value.values())
    return type(value) is hint


HEX_DIGEST = st.text("0123456789abcdef", min_size=64, max_size=64)


def member_values(member: str, hint: Any) -> st.SearchStrategy[Any]:
    """Values of body member ``member``: digests are 64 lowercase hex digits."""
    if member == "sha256" or member.endswith("_sha256"):
        return HEX_DIGEST if hint is str else st.one_of(st.none(), HEX_DIGEST)
    return values(hint)


bodies = st.sampled_from(DOMAIN_TYPES).flatmap(
    lambda name: st.tuples(
        st.just(name),
        st.fixed_dictionaries(
            {k: member_values(k, h) for k, h in body_schema(EVENT_CLASSES[name]).items()}
        ),
    )
)


@pytest.mark.parametrize("name", DOMAIN_TYPES)
def test_every_event_type_declares_a_body_of_json_types(name: str) -> None:
    schema = body_schema(EVENT_CLASSES[name])
    for member, hint in schema.items():
        values(hint)  # every declared type is one a JSON body can carry
        assert not member.startswith("_"), member


@given(bodies)
def test_a_body_of_the_declared_types_passes(typed: tuple[str, dict[str, Any]]) -> None:
    name, body = typed
    check_body(EVENT_CLASSES[name], body)


@given(bodies, st.data())
def test_a_member_of_another_type_is_named(typed: tuple[str, dict[str, Any]], data: Any) -> None:
    name, body = typed
    schema = body_schema(EVENT_CLASSES[name])
    typed_members = sorted(m for m, h in schema.items() if h is not Any)
    if not typed_members:
        return
    member = data.draw(st.sampled_from(typed_members))
    body[member] = data.draw(wrong(schema[member]))
    with pytest.raises(TypeError, match=f"^{member} must be "):
        check_body(EVENT_CLASSES[name], body)


@given(bodies, st.data())
def test_a_missing_or_unknown_member_is_named(typed: tuple[str, dict[str, Any]], data: Any) -> None:
    name, body = typed
    cls = EVENT_CLASSES[name]
    if body:
        member = data.draw(st.sampled_from(sorted(body)))
        with pytest.raises(TypeError, match=f"body lacks {member}$"):
            check_body(cls, {k: v for k, v in body.items() if k != member})
    with pytest.raises(TypeError, match=r"body has unknown members zz_extra$"):
        check_body(cls, {**body, "zz_extra": 1})


def export_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "authorisation": None,
        "recipient": "org/partner",
        "scope": ["服务记录统计"],
        "records": 10,
        "sha256": "ef" * 32,
    }
    return {**body, **changes}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"scope": None}, "scope must be a list of strings, got None"),
        ({"scope": ["统计", 3]}, "scope must be a list of strings, got ['统计', 3]"),
        ({"records": "10"}, "records must be an integer, got '10'"),
        ({"records": True}, "records must be an integer, got True"),
        ({"sha256": "EF" * 32}, "sha256 must be a SHA-256 digest in 64 lowercase hex digits"),
        ({"sha256": "ef" * 31}, "sha256 must be a SHA-256 digest in 64 lowercase hex digits"),
        ({"actor": "org/province"}, "body has unknown members actor"),
        ({"extra": 1}, "body has unknown members extra"),
    ],
    ids=[
        "null-scope",
        "mixed-scope",
        "string-count",
        "boolean-count",
        "upper-digest",
        "short-digest",
        "envelope-name",
        "unknown",
    ],
)
def test_a_client_entry_of_the_wrong_shape_is_refused_and_found(
    hunan: World, changes: dict[str, Any], problem: str
) -> None:
    """Hunan reads nothing of an export's body: its shape is still checked."""
    raw = client_entry(
        hunan, "platform/hub", "export/x1", "DataExported", export_body(**changes)
    ).raw
    error = hunan.rejected(lambda: hunan.app.submit(raw), LifecycleError)
    assert f"DataExported is malformed: {problem}" in str(error)

    hunan.app.recorder.insert_events([StoredEvent("export/x1", 1, "DataExported", raw)])
    report = check_compliance(hunan.app.entries())
    assert [f.stream for f in report.findings] == ["export/x1"]
    assert problem in report.findings[0].problem


def test_a_client_entry_of_the_right_shape_is_stored(hunan: World) -> None:
    raw = client_entry(hunan, "platform/hub", "export/x1", "DataExported", export_body()).raw
    hunan.app.submit(raw)
    assert list(hunan.app.entries())[-1] == raw
