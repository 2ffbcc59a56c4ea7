"""Identities (rule 4: AH 28, HN 24): a credit code or a person is registered once, and a
blacklisted or disqualified subject does not come back under a new stream.

Every registration claims its identity (``identity/<kind>/<key>``) in the same batch; a
claim names the registrant, which must have registered with exactly that identity. Each
test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ledger.compliance import check_compliance
from ledger.core.errors import EntryRejectedError
from ledger.domain.errors import LifecycleError, RuleViolationError
from ledger.domain.registration import (
    Identity,
    Member,
    Provider,
    credit_code_problem,
    identity_stream,
    with_check_character,
)
from ledger.storage import Database
from tests.domain.world import ANHUI, DOC, HUNAN, World, assert_complies, client_entry, open_world

P1_CODE = "91430100MA4L00000F"  # provider/p1's, in both worlds
E1_CODE = "91430181MA4L00000R"  # member/e1's
NEW_CODE = "91430300MA4L00000R"

pytestmark = pytest.mark.usefixtures("events_on_world_time")


def load(world: World, stream: str) -> Any:
    return world.app.repository.get(stream)


def reviewer(world: World) -> tuple[str, str]:
    """Who reviews providers, and the onboarding platform."""
    if world.policy == HUNAN:
        return "platform/hub", "platform/changsha"
    return "org/operator", "platform/cloud"


def new_provider(world: World, stream: str = "provider/p2", code: str = NEW_CODE) -> Provider:
    by, home = reviewer(world)
    return world.province.provider(
        stream,
        name="湘潭精益检测有限公司",
        credit_code=code,
        categories=["检验检测"],
        reviewer=by,
        platform=home,
        documents=DOC,
        valid_until="2028-12-31",
    )


def new_enterprise(world: World, stream: str, code: str) -> Member:
    by, home = reviewer(world)
    registrar = home if world.policy == HUNAN else by
    return world.province.enterprise(
        stream,
        by=registrar,
        platform=home,
        name="株洲动力机械有限公司",
        credit_code=code,
        contact={"name": "赵强", "phone": "13800000003"},
    )


def blacklist(world: World, stream: str) -> None:
    by, _ = reviewer(world)
    state = load(world, stream)
    state.blacklist(actor=by, reason="虚假交易")
    world.app.save(state)


@pytest.fixture(params=[HUNAN, ANHUI])
def world(request: pytest.FixtureRequest, db: Database) -> World:
    return open_world(db, request.param)


# -- credit codes ---------------------------------------------------------------------------


def test_credit_codes_carry_their_gb_32100_check_character() -> None:
    assert credit_code_problem("91350100M000100Y43") is None  # a published example
    assert credit_code_problem(with_check_character("91430300MA4L0000A")) is None
    assert "check character" in str(credit_code_problem("91350100M000100Y44"))
    for bad in ("", "91350100M000100Y4", "91350100M000100Y43X", "9135010OM000100Y43", 91, None):
        assert credit_code_problem(bad) is not None, bad


def test_a_provider_with_a_mistyped_credit_code_is_refused(world: World) -> None:
    error = world.rejected(lambda: new_provider(world, code=NEW_CODE[:-1] + "0"), LifecycleError)
    assert "check character is R" in str(error)


# -- one registration per identity ----------------------------------------------------------


def test_each_registration_claims_its_identity(world: World) -> None:
    new_provider(world)
    claim = load(world, identity_stream("provider", NEW_CODE))
    assert claim.holder == "provider/p2"
    assert load(world, identity_stream("enterprise", E1_CODE)).holder == "member/e1"
    assert_complies(world)


def test_a_credit_code_already_registered_is_refused(world: World) -> None:
    error = world.rejected(lambda: new_provider(world, code=P1_CODE), LifecycleError)
    assert f"credit code {P1_CODE} is already registered as provider/p1" in str(error)
    error = world.rejected(lambda: new_enterprise(world, "member/e9", E1_CODE), LifecycleError)
    assert f"credit code {E1_CODE} is already registered as member/e1" in str(error)


def test_an_enterprise_may_also_be_a_provider(world: World) -> None:
    new_enterprise(world, "member/e9", P1_CODE)  # provider/p1 also buys services
    assert load(world, identity_stream("enterprise", P1_CODE)).holder == "member/e9"
    assert_complies(world)


def test_a_deregistered_provider_may_register_again(world: World) -> None:
    state: Provider = load(world, "provider/p1")
    state.deregister(actor="provider/p1", reason="停止经营")
    world.app.save(state)
    new_provider(world, "provider/p1-again", P1_CODE)
    claim = load(world, identity_stream("provider", P1_CODE))
    assert claim.holder == "provider/p1-again"
    assert claim.version == 2  # claimed, then reclaimed
    assert_complies(world)


# -- rule 4: no return under a new stream ---------------------------------------------------


def test_a_blacklisted_provider_does_not_return_under_a_new_stream(world: World) -> None:
    blacklist(world, "provider/p1")
    error = world.violates(4, lambda: new_provider(world, "provider/p1-new", P1_CODE))
    assert f"credit code {P1_CODE} belongs to provider/p1, which is blacklisted" in error.problem
    assert "provider/p1-new" not in world.app.repository


def test_a_blacklisted_provider_does_not_return_as_a_member(world: World) -> None:
    blacklist(world, "provider/p1")
    error = world.violates(4, lambda: new_enterprise(world, "member/e9", P1_CODE))
    assert "provider/p1, which is blacklisted" in error.problem


def test_a_blacklisted_member_does_not_return_even_after_deregistering(world: World) -> None:
    blacklist(world, "member/e1")
    state: Member = load(world, "member/e1")
    state.deregister(actor="member/e1", reason="注销账户")
    world.app.save(state)
    error = world.violates(4, lambda: new_enterprise(world, "member/e9", E1_CODE))
    assert "member/e1, which is blacklisted" in error.problem


def test_a_blacklisted_person_does_not_return(anhui: World) -> None:
    def register(stream: str) -> Member:
        return anhui.province.person(
            stream,
            by="org/operator",
            platform="platform/cloud",
            identity={"name": "张敏", "id_card": "340104199001011234"},  # member/u1's
            birth_date=date(1990, 1, 1),
        )

    error = anhui.rejected(lambda: register("member/u1-twice"), LifecycleError)
    assert "already registered as member/u1" in str(error)
    blacklist(anhui, "member/u1")
    state: Member = load(anhui, "member/u1")
    state.deregister(actor="member/u1", reason="注销账户")
    anhui.app.save(state)
    error = anhui.violates(4, lambda: register("member/u1-new"))
    assert "the person with ID-card index" in error.problem
    assert "member/u1, which is blacklisted" in error.problem


def test_a_client_cannot_register_a_person_with_an_index_of_its_own(anhui: World) -> None:
    """A person's identity is the vault's HMAC of the ID-card number, and AH 25's age band
    comes from the birth date: only the ledger's own command sees both. A platform that
    signs a person's registration itself could name any index (a barred person back under
    a fresh one) and any age band, so such an entry is refused, whatever it claims."""
    body = {
        "kind": "person",
        "name": {"$pi": "ab" * 32},
        "credit_code": None,
        "identity": {"id_card": {"$pi": "cd" * 32}},
        "platform": "platform/cloud",
        "state_owned": None,
        "age_check": {"range": "16-59", "result": "within"},
        "index": "ef" * 32,
    }
    entry = client_entry(anhui, "org/operator", "member/forged", "MemberRegistered", body)
    error = anhui.rejected(lambda: anhui.app.submit(entry.raw), EntryRejectedError)
    assert "a person is registered through the ledger's own command" in str(error)


# -- the claim itself -----------------------------------------------------------------------


def applied(world: World, stream: str = "provider/p2", code: str = NEW_CODE) -> Provider:
    world.province.enrol(stream)
    return Provider.apply_for(
        stream=stream, actor=stream, name="湘潭精益检测有限公司", credit_code=code, categories=[]
    )


def test_a_registration_without_its_claim_breaks_rule_4(world: World) -> None:
    provider = applied(world)
    error = world.violates(4, lambda: world.app.save(provider))
    assert f"claim of {identity_stream('provider', NEW_CODE)}" in error.problem


def test_the_claim_comes_before_any_entry_of_another_stream(world: World) -> None:
    provider = applied(world)
    claim = world.province.claim(provider)
    other = applied(world, "provider/p3", with_check_character("91430300MA4L0000B"))
    error = world.violates(4, lambda: world.app.save(provider, other, claim))
    assert "ProviderApplied came next" in error.problem


def test_a_claim_of_someone_elses_identity_is_refused(world: World) -> None:
    provider = applied(world)
    world.app.save(provider, world.province.claim(provider))
    squat = Identity.claim(
        None,
        stream=identity_stream("provider", "91350100M000100Y43"),
        holder=provider.id,
        actor=provider.id,
    )
    error = world.rejected(lambda: world.app.save(squat), LifecycleError)
    assert "did not register with the identity" in str(error)


def test_a_claim_by_anyone_but_the_registrar_is_refused(hunan: World) -> None:
    member = Member.register(
        stream="member/e9",
        actor="platform/changsha",
        kind="enterprise",
        name="株洲动力机械有限公司",
        credit_code=NEW_CODE,
        identity={},
        platform="platform/changsha",
    )
    claim = Identity.claim(
        None,
        stream=identity_stream("enterprise", NEW_CODE),
        holder="member/e9",
        actor="platform/hub",
    )
    error = hunan.rejected(lambda: hunan.app.save(member, claim), LifecycleError)
    assert "claimed by its registrar platform/changsha" in str(error)


def test_a_person_registered_as_an_enterprise_without_a_credit_code_is_refused(
    anhui: World,
) -> None:
    member = Member.register(
        stream="member/e9",
        actor="org/operator",
        kind="enterprise",
        name={"$pi": "ab" * 32},
        credit_code=None,
        identity={},
        platform="platform/cloud",
        state_owned=False,
    )
    error = anhui.rejected(lambda: anhui.app.save(member), LifecycleError)
    assert "an enterprise registers with its credit code" in str(error)


def test_replay_finds_a_registration_whose_claim_never_came(hunan: World) -> None:
    hunan.province.enrol("provider/p2")
    entry = client_entry(
        hunan,
        "provider/p2",
        "provider/p2",
        "ProviderApplied",
        {"name": "x", "credit_code": NEW_CODE, "categories": []},
    )
    before = hunan.entries
    with pytest.raises(RuleViolationError, match="must be followed by its claim"):
        hunan.app.submit(entry.raw)
    assert hunan.entries == before
    # had it been stored behind the rules' back (a forged database), the replay finds it
    report = check_compliance([*hunan.app.entries(), entry.raw])
    assert [f.index for f in report.findings] == [before]
    assert "claim of identity/provider/" in report.findings[0].problem
    assert report.findings[0].problem.endswith("the log ends")


def test_a_holder_blacklisted_after_leaving_still_bars_the_identity(world: World) -> None:
    state: Provider = load(world, "provider/p1")
    state.deregister(actor="provider/p1", reason="停止经营")
    world.app.save(state)
    new_provider(world, "provider/p1-b", P1_CODE)  # came back, lawfully
    blacklist(world, "provider/p1")  # then found out, for what it did before
    state = load(world, "provider/p1-b")
    state.deregister(actor="provider/p1-b", reason="停止经营")
    world.app.save(state)
    error = world.violates(4, lambda: new_provider(world, "provider/p1-c", P1_CODE))
    assert "belongs to provider/p1, which is blacklisted" in error.problem


def test_an_unverified_applicant_does_not_hold_anothers_credit_code(world: World) -> None:
    squatter = applied(world, "provider/squat", NEW_CODE)
    world.app.save(squatter, world.province.claim(squatter))
    blacklist(world, "provider/squat")  # never verified: its blacklisting binds no one
    new_provider(world, "provider/real", NEW_CODE)  # the company itself, verified
    assert load(world, identity_stream("provider", NEW_CODE)).holders == [
        "provider/squat",
        "provider/real",
    ]
    assert_complies(world)


def test_a_registration_whose_identity_was_taken_over_is_not_verified(world: World) -> None:
    squatter = applied(world, "provider/squat", NEW_CODE)
    world.app.save(squatter, world.province.claim(squatter))
    new_provider(world, "provider/real", NEW_CODE)
    by, _ = reviewer(world)
    state: Provider = load(world, "provider/squat")
    state.verify_real_name(actor=by, method="统一社会信用代码核验")
    error = world.rejected(lambda: world.app.save(state), LifecycleError)
    assert f"credit code {NEW_CODE} is now held by provider/real" in str(error)
