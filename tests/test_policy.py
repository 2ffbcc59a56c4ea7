"""Policy packs (DOMAIN.md §6): shipped data, validation, version selection by date."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.policy import (
    PACKS_DIR,
    Parameters,
    PolicyError,
    PolicyPack,
    available_packs,
    load_pack,
    load_pack_file,
)

HUNAN, ANHUI = "hunan-sme-2015", "anhui-startup-2017"

Raw = dict[str, Any]


def _raw(name: str) -> list[Raw]:
    data: list[Raw] = json.loads((PACKS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _write(directory: Path, name: str, content: Any) -> Path:
    path = directory / f"{name}.json"
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def _leaves(value: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{where}[{i}]")
    else:
        yield where, value


# --- the shipped packs ---------------------------------------------------------------


def test_the_two_regulations_are_shipped() -> None:
    assert available_packs() == [ANHUI, HUNAN]


@pytest.mark.parametrize(
    ("name", "effective_from", "document"),
    [
        (HUNAN, date(2015, 1, 23), "湘经信中小服务〔2015〕33号"),  # noqa: RUF001 - document-number brackets
        (ANHUI, date(2018, 1, 1), "皖人社秘〔2017〕460号"),  # noqa: RUF001 - document-number brackets
    ],
)
def test_pack_loads_with_its_identity(name: str, effective_from: date, document: str) -> None:
    pack = load_pack(name)
    assert isinstance(pack, PolicyPack)
    assert (pack.name, pack.version, pack.effective_from) == (name, 1, effective_from)
    assert document in pack.title


def test_every_section_6_parameter_is_a_field() -> None:
    assert set(Parameters.model_fields) == {
        "identity_retention",
        "transaction_retention",
        "service_record_deadline",
        "providers_per_window",
        "members_per_county_window",
        "user_age_range",
        "termination_notice",
        "voucher_issuer",
        "free_service_functions",
        "satisfied_evaluation",
        "evidence_types",
        "platform_network",
        "offline_risk_notice",
        "provider_agreement",
        "appointments",
        "government_payees",
        "admin_authorisation",
        "data_sharing",
        "locality",
        "complaint_supervisors",
    }


@pytest.mark.parametrize("name", [HUNAN, ANHUI])
def test_no_parameter_is_left_out_of_the_file(name: str) -> None:
    """Absent parameters are written as null, never omitted."""
    assert set(_raw(name)[0]["parameters"]) == set(Parameters.model_fields)


def test_hunan_parameters_and_articles() -> None:
    p = load_pack(HUNAN).parameters
    for retention in (p.identity_retention, p.transaction_retention):
        assert (retention.years, retention.articles) == (2, ("HN 8(8)",))
        assert retention.national_law is not None
        assert retention.national_law.years == 3
    assert p.transaction_retention.national_law is not None
    assert p.transaction_retention.national_law.law == "中华人民共和国电子商务法"
    assert p.service_record_deadline is not None
    assert (p.service_record_deadline.working_days, p.service_record_deadline.articles) == (
        5,
        ("HN 23",),
    )
    assert p.providers_per_window is not None
    assert (p.providers_per_window.comprehensive, p.providers_per_window.industry) == (20, 10)
    assert p.providers_per_window.articles == ("HN 13",)
    assert p.members_per_county_window is not None
    assert (p.members_per_county_window.comprehensive, p.members_per_county_window.industry) == (
        100,
        50,
    )
    assert p.members_per_county_window.articles == ("HN 13",)
    assert p.user_age_range is None
    assert p.termination_notice is not None
    assert (p.termination_notice.months, p.termination_notice.articles) == (3, ("HN 8(10)",))
    assert p.voucher_issuer is None
    assert p.free_service_functions is not None
    assert p.free_service_functions.articles == ("HN 7",)
    assert "开放式登记服务" in p.free_service_functions.functions
    assert len(p.free_service_functions.functions) == 8  # HN 7 items (一) to (八)
    assert (p.satisfied_evaluation.at_least, p.satisfied_evaluation.scale_max) == (4, 5)
    assert "HN 23" in p.satisfied_evaluation.articles
    assert p.evidence_types is not None
    assert p.evidence_types.basis == ("通知", "合同")
    assert p.evidence_types.delivery == (
        "二维码签到数据",
        "服务签名表",
        "现场照片",
        "总结或验收报告",
        "审计报告",
        "服务收支凭证",
        "用户评价意见",
    )
    assert p.evidence_types.articles == ("HN 23",)
    assert (p.government_payees, p.admin_authorisation, p.data_sharing) == (None, None, None)
    assert p.provider_agreement is not None
    assert p.provider_agreement.articles == ("HN 8(3)",)
    assert set(load_pack(HUNAN).roles) == {"provincial_authority", "city_authority"}
    assert p.locality is not None
    assert (p.locality.province, p.locality.roles, p.locality.articles) == (
        "430000",
        ("provincial_authority", "city_authority"),
        ("HN 19(4)", "HN 24"),
    )
    assert p.complaint_supervisors is None


def test_anhui_parameters_and_articles() -> None:
    pack = load_pack(ANHUI)
    p = pack.parameters
    for retention in (p.identity_retention, p.transaction_retention):
        assert (retention.years, retention.articles) == (2, ("AH 16",))
        assert retention.national_law is not None
        assert retention.national_law.years == 3
    assert p.service_record_deadline is None
    assert p.providers_per_window is None
    assert p.members_per_county_window is None
    assert p.user_age_range is not None
    assert (p.user_age_range.min_years, p.user_age_range.max_years) == (16, 59)
    assert p.user_age_range.articles == ("AH 25",)
    assert p.termination_notice is None
    assert p.voucher_issuer is not None
    assert p.voucher_issuer.articles == ("AH 17",)
    assert pack.roles[p.voucher_issuer.role].startswith("省人社厅")
    assert p.free_service_functions is not None
    assert p.free_service_functions.functions == ("政策服务", "政务服务")
    assert "AH 14" in p.free_service_functions.articles
    assert (p.satisfied_evaluation.at_least, p.satisfied_evaluation.scale_max) == (4, 5)
    assert p.evidence_types is None
    assert p.provider_agreement is None
    assert p.government_payees is not None
    assert p.government_payees.articles == ("AH 6",)
    assert p.admin_authorisation is not None
    assert p.admin_authorisation.articles == ("AH 27",)
    assert p.data_sharing is not None
    assert p.data_sharing.articles == ("AH 34",)
    assert pack.roles["cloud_operator"] == "云平台运营商"
    assert p.locality is None  # 省人社厅 supervises the one cloud platform, province-wide
    assert p.complaint_supervisors is not None
    assert p.complaint_supervisors.roles == {
        "cloud_operator": "provincial_hr_department",
        "cloud_platform": "provincial_hr_department",
    }
    assert "AH 7" in p.complaint_supervisors.articles


@pytest.mark.parametrize(
    ("name", "rules"),
    [
        (
            HUNAN,
            {
                1: ("HN 18",),
                2: ("HN 8(2)", "HN 19(1)"),
                4: ("HN 24",),
                7: ("HN 7",),
                9: ("HN 19(2)",),
                10: ("HN 8(12)",),
                11: ("HN 8(10)",),
                12: (),
                13: (),
            },
        ),
        (
            ANHUI,
            {
                1: ("AH 26",),
                2: ("AH 22",),
                3: ("AH 25",),
                4: ("AH 28",),
                5: ("AH 27",),
                6: ("AH 14", "AH 17", "AH 19"),
                7: ("AH 6", "AH 14"),
                8: ("AH 34",),
                9: ("AH 13(3)",),
                12: (),
                13: (),
            },
        ),
    ],
)
def test_hard_rules_per_domain_section_3(name: str, rules: dict[int, tuple[str, ...]]) -> None:
    pack = load_pack(name)
    assert {rule.number: rule.articles for rule in pack.hard_rules} == rules
    assert pack.applies(12)
    assert not pack.applies(3 if name == HUNAN else 10)
    assert pack.rule(99) is None


@pytest.mark.parametrize("name", [HUNAN, ANHUI])
def test_source_articles_are_the_regulations_own(name: str) -> None:
    pack = load_pack(name)
    prefix = "HN " if name == HUNAN else "AH "
    assert all(article.startswith(prefix) for article in pack.source.articles)


@pytest.mark.parametrize("name", [HUNAN, ANHUI])
def test_no_float_anywhere_in_the_shipped_json(name: str) -> None:
    floats = [where for where, value in _leaves(_raw(name)) if isinstance(value, float)]
    assert floats == []


# --- invalid packs fail with a message naming the file and the problem ---------------


def _set(path: str, value: Any) -> Callable[[Raw], None]:
    def mutate(pack: Raw) -> None:
        *parents, last = path.split(".")
        node = pack
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


def _delete(path: str) -> Callable[[Raw], None]:
    def mutate(pack: Raw) -> None:
        *parents, last = path.split(".")
        node = pack
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_set("parameters.bonus_years", 1), "parameters.bonus_years: Extra inputs are not"),
        (_set("surprise", "x"), "surprise: Extra inputs are not permitted"),
        (
            _set("parameters.identity_retention.years", 2.5),
            "parameters.identity_retention.years: Input should be a valid integer (got 2.5)",
        ),
        (
            _set("parameters.termination_notice.months", 3.0),
            "parameters.termination_notice.months: Input should be a valid integer (got 3.0)",
        ),
        (
            _set("parameters.satisfied_evaluation.at_least", True),
            "parameters.satisfied_evaluation.at_least: Input should be a valid integer",
        ),
        (_delete("parameters.termination_notice"), "parameters.termination_notice: Field required"),
        (_delete("parameters.user_age_range"), "parameters.user_age_range: Field required"),
        (_set("effective_from", "2015-02-30"), "effective_from: Input should be a valid date"),
        (_set("effective_from", "23/01/2015"), "effective_from: Input should be a valid date"),
        (_set("effective_from", 20150123), "effective_from: Input should be a valid date"),
        (
            _set("parameters.termination_notice.articles", ["HN 99"]),
            "articles cited but not in source.articles: HN 99",
        ),
        (
            _set("parameters.termination_notice.articles", ["article 8"]),
            "parameters.termination_notice.articles[0]: String should match pattern",
        ),
        (
            _set("permissions.AgreementPublished.roles", ["somebody"]),
            "roles used but not defined in roles: somebody",
        ),
        (
            _set("parameters.satisfied_evaluation.at_least", 6),
            "parameters.satisfied_evaluation: Value error, at_least 6 > scale_max 5",
        ),
        (_set("hard_rules", []), "must list the ledger invariants [12, 13]"),
        (
            _set("parameters.locality.province", "430100"),
            "parameters.locality.province: String should match pattern",
        ),
        (
            _set("parameters.locality.roles", ["county_authority"]),
            "roles used but not defined in roles: county_authority",
        ),
        (
            _set(
                "parameters.complaint_supervisors",
                {"roles": {"city_authority": "nobody"}, "articles": ["HN 24"]},
            ),
            "roles used but not defined in roles: nobody",
        ),
        (_delete("parameters.locality"), "parameters.locality: Field required"),
        (_set("name", "hunan-sme-2016"), "[0].name 'hunan-sme-2016' differs from the file name"),
    ],
)
def test_invalid_pack_names_the_file_and_the_problem(
    tmp_path: Path, mutate: Callable[[Raw], None], expected: str
) -> None:
    pack = copy.deepcopy(_raw(HUNAN)[0])
    mutate(pack)
    path = _write(tmp_path, HUNAN, [pack])
    with pytest.raises(PolicyError) as caught:
        load_pack_file(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_malformed_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / f"{HUNAN}.json"
    path.write_text('[{"name": ', encoding="utf-8")
    with pytest.raises(PolicyError, match="Invalid JSON") as caught:
        load_pack_file(path)
    assert str(path) in str(caught.value)


def test_unknown_pack_lists_the_available_ones() -> None:
    with pytest.raises(PolicyError, match=r"'jiangxi-2030'; available: anhui-startup-2017, hunan"):
        load_pack("jiangxi-2030")


# --- versions by effective date -------------------------------------------------------


def _two_versions() -> list[Raw]:
    first = copy.deepcopy(_raw(HUNAN)[0])
    second = copy.deepcopy(first)
    second["version"] = 2
    second["effective_from"] = "2021-05-01"
    second["parameters"]["identity_retention"]["years"] = 3
    second["parameters"]["transaction_retention"]["years"] = 3
    return [first, second]


def test_version_in_force_on_a_date(tmp_path: Path) -> None:
    path = _write(tmp_path, HUNAN, _two_versions())
    assert load_pack_file(path, on=date(2015, 1, 23)).version == 1
    assert load_pack_file(path, on=date(2021, 4, 30)).version == 1
    assert load_pack_file(path, on=date(2021, 5, 1)).version == 2
    assert load_pack_file(path).version == 2  # no date: the newest
    newest = load_pack_file(path)
    older = newest.for_date(date(2019, 6, 1))
    assert (older.version, older.parameters.identity_retention.years) == (1, 2)
    assert older.for_date(date(2022, 1, 1)) == newest
    with pytest.raises(PolicyError, match="no version in force on 2015-01-22"):
        newest.for_date(date(2015, 1, 22))


def test_shipped_pack_by_date() -> None:
    assert load_pack(ANHUI, on=date(2018, 1, 1)).version == 1
    assert load_pack(HUNAN, on=date(2024, 12, 31)).for_date(date(2016, 1, 1)).version == 1
    with pytest.raises(PolicyError, match=r"anhui-startup-2017: .* first takes effect on 2018-01"):
        load_pack(ANHUI, on=date(2017, 12, 31))
    with pytest.raises(TypeError, match="calendar date"):
        load_pack(ANHUI, on=datetime(2019, 1, 1, 12))


@pytest.mark.parametrize(
    ("version", "effective_from"), [(1, "2021-05-01"), (2, "2015-01-23"), (2, "2014-01-01")]
)
def test_versions_must_increase_in_number_and_date(
    tmp_path: Path, version: int, effective_from: str
) -> None:
    versions = _two_versions()
    versions[1]["version"] = version
    versions[1]["effective_from"] = effective_from
    path = _write(tmp_path, HUNAN, versions)
    with pytest.raises(PolicyError, match="must come after version 1") as caught:
        load_pack_file(path)
    assert str(path) in str(caught.value)


# --- a third province is a new file, not new code -------------------------------------


def test_a_third_province_pack_loads_from_a_file(tmp_path: Path) -> None:
    third: Raw = {
        "name": "example-province-2020",
        "version": 1,
        "effective_from": "2020-07-01",
        "title": "示例省中小企业服务平台管理办法",
        "source": {
            "issuer": "示例省工业和信息化厅",
            "issued_on": "2020-06-01",
            "articles": {
                "EX 2": "平台网络",
                "EX 5": "实名认证",
                "EX 9": "记录保存三年",
                "EX 12": "满意度",
            },
        },
        "roles": {"provincial_platform": "省平台运营机构"},
        "parameters": {
            "identity_retention": {"years": 3, "articles": ["EX 9"], "national_law": None},
            "transaction_retention": {"years": 3, "articles": ["EX 9"], "national_law": None},
            "service_record_deadline": {"working_days": 10, "articles": ["EX 12"]},
            "providers_per_window": None,
            "members_per_county_window": None,
            "user_age_range": {"min_years": 18, "max_years": 65, "articles": ["EX 5"]},
            "termination_notice": None,
            "voucher_issuer": None,
            "free_service_functions": None,
            "satisfied_evaluation": {"at_least": 8, "scale_max": 10, "articles": ["EX 12"]},
            "evidence_types": None,
            "platform_network": {
                "top": "hub",
                "children": {"hub": ["city"], "city": []},
                "articles": ["EX 2"],
            },
            "offline_risk_notice": None,
            "provider_agreement": None,
            "appointments": None,
            "government_payees": None,
            "admin_authorisation": None,
            "data_sharing": None,
            "locality": None,
            "complaint_supervisors": None,
        },
        "hard_rules": [
            {"number": 1, "summary": "real name first", "articles": ["EX 5"]},
            {"number": 12, "summary": "valid keys only", "articles": []},
            {"number": 13, "summary": "append only", "articles": []},
        ],
        "permissions": {
            "ServiceRecorded": {"roles": ["provincial_platform"], "articles": ["EX 12"]},
        },
    }
    path = _write(tmp_path, "example-province-2020", third)  # a single object: one version
    pack = load_pack_file(path, on=date(2020, 7, 1))
    assert pack.name == "example-province-2020"
    assert pack.parameters.identity_retention.years == 3
    assert pack.parameters.satisfied_evaluation.at_least == 8
    assert pack.applies(1)
    assert not pack.applies(11)
    assert pack.permissions["ServiceRecorded"].roles == ("provincial_platform",)
    assert pack.for_date(date(2030, 1, 1)) == pack
    assert "example-province-2020" not in available_packs()
