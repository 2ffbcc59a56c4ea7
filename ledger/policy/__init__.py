"""Policy packs: the parameters of one regulation, as versioned data (DOMAIN.md §6).

Layout. Each pack is one JSON file ``packs/<name>.json`` shipped in this package. The
file holds a JSON array of the pack's versions (a single object is read as one
version). Every version carries ``name`` (equal to the file name without ``.json``),
``version`` and ``effective_from``; versions are listed oldest first, with strictly
increasing ``version`` and ``effective_from``. A new version of a regulation's
parameters is a new element of that array; a new regulation (a third province) is a
new file, read by :func:`load_pack_file` without code changes.

Version selection. ``load_pack(name, on=d)``, ``load_pack_file(path, on=d)`` and
``pack.for_date(d)`` give the version in force on ``d``: the one with the latest
``effective_from`` on or before ``d``; a date before the first version is an error.
Without a date, the newest version is returned. ``d`` is a calendar date
(Asia/Shanghai), never a datetime.

Contents. ``parameters`` holds every parameter of DOMAIN.md §6, each with the
``articles`` it comes from in the DOMAIN.md notation (``"HN 8(8)"``, ``"AH 25"``),
each of which must appear in ``source.articles``. A parameter the regulation does
not have is ``null``, never left out. Durations and thresholds are integers (years,
months, working days, scores); a float anywhere fails. Roles are identifiers defined
in ``roles`` (identifier -> Chinese name). Keys are registered and revoked by the
ledger's root actor alone (FORMAT.md §4 lets a policy allow others; no pack does, so an
offline verifier needs nothing but the log to tell a valid registration).
``hard_rules`` lists the rules of DOMAIN.md §3 (by number) that apply under the pack,
with their articles; the ledger invariants 12 and 13 have no article and are in every
pack. ``permissions`` maps
each event type the regulation has to the roles that may write it (granted roles from
``roles``, or the intrinsic ones of ``INTRINSIC_ROLES``); an event type not listed is not
part of the regulation and is refused under it.

A file that does not validate raises :class:`PolicyError` naming the file and each
bad field.
"""

from __future__ import annotations

from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from ledger.core.errors import LedgerError

__all__ = [
    "INTRINSIC_ROLES",
    "PACKS_DIR",
    "AdminAuthorisation",
    "AgeRange",
    "ComplaintSupervisors",
    "DataSharing",
    "Deadline",
    "EvidenceTypes",
    "FreeFunctions",
    "GovernmentPayees",
    "HardRule",
    "Locality",
    "NationalLaw",
    "Notice",
    "Parameters",
    "Permission",
    "PolicyError",
    "PolicyPack",
    "ProviderAgreement",
    "Retention",
    "SatisfiedEvaluation",
    "Source",
    "VoucherIssuer",
    "WindowMinimums",
    "available_packs",
    "load_pack",
    "load_pack_file",
]

PACKS_DIR = Path(__file__).with_name("packs")
LEDGER_INVARIANTS = frozenset({12, 13})  # DOMAIN.md §3 rules that hold under every pack
#: Roles an actor holds by what it is, not by a grant: the ledger's root actor; the
#: subject a stream is about acting on it ("self"); platforms by level; providers; members.
INTRINSIC_ROLES = frozenset(
    {
        "root",
        "self",
        "platform",
        "hub_platform",
        "city_platform",
        "county_platform",
        "industry_platform",
        "cloud_platform",
        "provider",
        "member",
    }
)

Article = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,3} \d+(\(\d+\))?$")]
RoleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
PackName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(min_length=1)]
Count = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]


class PolicyError(LedgerError, ValueError):
    """A policy pack is unknown, invalid, or has no version in force on a date."""


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class _Sourced(_Data):
    articles: Annotated[tuple[Article, ...], Field(min_length=1)]
    note: Text | None = None


class NationalLaw(_Data):
    """A later national rule that sets a different figure (kept as data, not applied)."""

    years: Positive
    law: Text
    article: Text
    effective_from: date


class Retention(_Sourced):
    years: Positive
    national_law: NationalLaw | None


class Deadline(_Sourced):
    working_days: Positive


class WindowMinimums(_Sourced):
    comprehensive: Count  # 综合窗口
    industry: Count  # 产业窗口


class AgeRange(_Sourced):
    min_years: Count  # inclusive
    max_years: Count  # inclusive

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.min_years > self.max_years:
            raise ValueError(f"min_years {self.min_years} > max_years {self.max_years}")
        return self


class Notice(_Sourced):
    months: Positive


class VoucherIssuer(_Sourced):
    role: RoleId


class FreeFunctions(_Sourced):
    functions: Annotated[tuple[Text, ...], Field(min_length=1)]


class SatisfiedEvaluation(_Sourced):
    """An evaluation is satisfied when its score (1..scale_max) is >= at_least."""

    at_least: Positive
    scale_max: Positive

    @model_validator(mode="after")
    def _within_scale(self) -> SatisfiedEvaluation:
        if self.at_least > self.scale_max:
            raise ValueError(f"at_least {self.at_least} > scale_max {self.scale_max}")
        return self


class EvidenceTypes(_Sourced):
    basis: Annotated[tuple[Text, ...], Field(min_length=1)]  # why the service took place
    delivery: Annotated[tuple[Text, ...], Field(min_length=1)]  # that it was delivered

    @property
    def all_types(self) -> tuple[str, ...]:
        return self.basis + self.delivery

    @model_validator(mode="after")
    def _distinct(self) -> EvidenceTypes:
        if len(set(self.all_types)) != len(self.all_types):
            raise ValueError("an evidence type is listed twice")
        return self


PlatformLevel = Literal["hub", "cloud", "city", "county", "industry"]


class PlatformNetwork(_Sourced):
    """The platform tree (HN 2, 4; AH 3): the level of the one top platform, and for each
    level the levels of the platforms that may apply beneath it."""

    top: PlatformLevel
    children: dict[PlatformLevel, tuple[PlatformLevel, ...]]

    def levels(self) -> tuple[str, ...]:
        return (self.top, *sorted({c for cs in self.children.values() for c in cs}))


class Appointments(_Sourced):
    """Roles a body of the province appoints and revokes besides the root (AH 3, 7: the
    operator, chosen by 省人社厅): role appointed -> role of the appointing body."""

    roles: Annotated[dict[RoleId, RoleId], Field(min_length=1)]


class OfflineRiskNotice(_Sourced):
    """Offline deals are paid off the platform, after the operator told the user of the
    risk and the complaint channels (AH 20)."""


class ProviderAgreement(_Sourced):
    """A provider is admitted only once it accepted the platform network's user agreement
    for providers, in the version in effect (HN 8(3): the operator signs a user agreement
    with every provider, and it sets the conditions of entry and exit)."""


class GovernmentPayees(_Sourced):
    """Roles that may never be the payee of a transaction (rule 7, AH 6)."""

    roles: Annotated[tuple[RoleId, ...], Field(min_length=1)]


class AdminAuthorisation(_Sourced):
    """Who needs a prior authorisation for every action, and who grants it (rule 5, AH 27)."""

    admin_role: RoleId
    grantor_role: RoleId


class DataSharing(_Sourced):
    """Who authorises exports of business data to third parties (rule 8, AH 34)."""

    authoriser_role: RoleId


#: A province's administrative division code (GB/T 2260): two digits and four zeros.
ProvinceCode = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]0000$")]


class Locality(_Sourced):
    """Authorities act by locality (HN 19(4), 24: 服务属地原则): each holder of one of
    ``roles`` is registered with its region (an administrative division code, GB/T 2260)
    and mediates, supervises and sanctions only what lies within it: a provider or member
    where the platform that onboarded it lies, a platform where it lies. Every region of
    the network lies within ``province``, the region of whatever no platform onboarded."""

    province: ProvinceCode
    roles: Annotated[tuple[RoleId, ...], Field(min_length=1)]


class ComplaintSupervisors(_Sourced):
    """Who handles a complaint against a body that handles complaints itself: role of the
    respondent -> role of the body that supervises it (AH 7, 10(5): the operator handles
    the cloud platform's complaints, and 省人社厅, which owns and supervises the cloud
    platform and its operator, handles those against either)."""

    roles: Annotated[dict[RoleId, RoleId], Field(min_length=1)]


class Permission(_Data):
    """The roles that may write one event type, and the articles that say so."""

    roles: Annotated[tuple[RoleId, ...], Field(min_length=1)]
    articles: tuple[Article, ...] = ()


class Parameters(_Data):
    """Every parameter of DOMAIN.md §6; ``None`` where the regulation has none."""

    identity_retention: Retention
    transaction_retention: Retention
    service_record_deadline: Deadline | None
    providers_per_window: WindowMinimums | None
    members_per_county_window: WindowMinimums | None
    user_age_range: AgeRange | None
    termination_notice: Notice | None
    voucher_issuer: VoucherIssuer | None
    free_service_functions: FreeFunctions | None
    satisfied_evaluation: SatisfiedEvaluation
    evidence_types: EvidenceTypes | None
    platform_network: PlatformNetwork
    offline_risk_notice: OfflineRiskNotice | None
    provider_agreement: ProviderAgreement | None
    appointments: Appointments | None
    government_payees: GovernmentPayees | None
    admin_authorisation: AdminAuthorisation | None
    data_sharing: DataSharing | None
    locality: Locality | None
    complaint_supervisors: ComplaintSupervisors | None


class HardRule(_Data):
    number: Annotated[int, Field(ge=1, le=13)]
    summary: Text
    articles: tuple[Article, ...]
    note: Text | None = None


class Source(_Data):
    issuer: Text
    issued_on: date
    articles: Annotated[dict[Article, Text], Field(min_length=1)]


class PolicyPack(_Data):
    """One version of one regulation's policy pack."""

    name: PackName
    version: Positive
    effective_from: date
    title: Text
    source: Source
    roles: dict[RoleId, Text]
    parameters: Parameters
    hard_rules: tuple[HardRule, ...]
    permissions: dict[Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z]+$")], Permission]

    _file: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> PolicyPack:
        params = self.parameters
        sourced: list[_Sourced] = [
            p for p in (getattr(params, f) for f in Parameters.model_fields) if p is not None
        ]
        cited = {a for p in sourced for a in p.articles}
        cited |= {a for rule in self.hard_rules for a in rule.articles}
        cited |= {a for p in self.permissions.values() for a in p.articles}
        if missing := sorted(cited - self.source.articles.keys()):
            raise ValueError(f"articles cited but not in source.articles: {', '.join(missing)}")
        roles: set[str] = set()
        if params.voucher_issuer is not None:
            roles.add(params.voucher_issuer.role)
        if params.government_payees is not None:
            roles.update(params.government_payees.roles)
        if params.admin_authorisation is not None:
            roles.update(
                (params.admin_authorisation.admin_role, params.admin_authorisation.grantor_role)
            )
        if params.data_sharing is not None:
            roles.add(params.data_sharing.authoriser_role)
        if params.locality is not None:
            roles.update(params.locality.roles)
        if params.complaint_supervisors is not None:
            for pair in params.complaint_supervisors.roles.items():
                roles.update(pair)
        roles.update(r for p in self.permissions.values() for r in p.roles)
        if undefined := sorted(roles - self.roles.keys() - INTRINSIC_ROLES):
            raise ValueError(f"roles used but not defined in roles: {', '.join(undefined)}")
        numbers = [rule.number for rule in self.hard_rules]
        if numbers != sorted(set(numbers)):
            raise ValueError(f"hard_rules numbers must be ascending and distinct: {numbers}")
        if absent := sorted(LEDGER_INVARIANTS - set(numbers)):
            raise ValueError(f"hard_rules must list the ledger invariants {absent}")
        bare = {rule.number for rule in self.hard_rules if not rule.articles}
        if unsourced := sorted(bare - LEDGER_INVARIANTS):
            raise ValueError(f"hard_rules {unsourced} need at least one article")
        return self

    def applies(self, rule: int) -> bool:
        """Whether hard rule ``rule`` (DOMAIN.md §3) holds under this pack."""
        return any(r.number == rule for r in self.hard_rules)

    def rule(self, number: int) -> HardRule | None:
        """Hard rule ``number`` with its articles, or None where it does not apply."""
        return next((r for r in self.hard_rules if r.number == number), None)

    def for_date(self, on: date) -> PolicyPack:
        """The version of this pack (from the same file) in force on ``on``."""
        versions = _read(self._file) if self._file is not None else (self,)
        return _select(versions, on)


_FILE = TypeAdapter(list[PolicyPack])


def _describe(error: ValidationError, single: bool) -> str:
    lines = []
    for e in error.errors():
        loc = list(e["loc"])
        if single and loc and loc[0] == 0:
            loc = loc[1:]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        quiet = e["type"] == "missing" or isinstance(e["input"], dict | list)
        got = "" if quiet else f" (got {_short(e['input'])})"
        lines.append(f"  {where or '<file>'}: {e['msg']}{got}")
    return "\n".join(lines)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _read(path: Path) -> tuple[PolicyPack, ...]:
    """Every version in ``path``, validated, oldest first."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(f"policy pack {path}: cannot read: {e}") from e
    single = text.lstrip().startswith("{")
    try:
        versions = _FILE.validate_json(f"[{text}]" if single else text)
    except ValidationError as e:
        raise PolicyError(f"invalid policy pack {path}:\n{_describe(e, single)}") from None
    if not versions:
        raise PolicyError(f"invalid policy pack {path}: no versions")
    for i, pack in enumerate(versions):
        if pack.name != path.stem:
            raise PolicyError(
                f"invalid policy pack {path}: [{i}].name {pack.name!r} differs from the file name"
            )
    for older, newer in pairwise(versions):
        if not (older.version < newer.version and older.effective_from < newer.effective_from):
            raise PolicyError(
                f"invalid policy pack {path}: version {newer.version} "
                f"({newer.effective_from}) must come after version {older.version} "
                f"({older.effective_from}) in both number and effective_from"
            )
    for pack in versions:
        pack._file = path
    return tuple(versions)


def _select(versions: tuple[PolicyPack, ...], on: date | None) -> PolicyPack:
    if on is None:
        return versions[-1]
    if isinstance(on, datetime):
        raise TypeError("pass a calendar date (Asia/Shanghai), not a datetime")
    in_force = [v for v in versions if v.effective_from <= on]
    if not in_force:
        first = versions[0]
        raise PolicyError(
            f"policy pack {first.name}: no version in force on {on.isoformat()}; "
            f"the first takes effect on {first.effective_from.isoformat()}"
        )
    return in_force[-1]


def available_packs() -> list[str]:
    """Names of the packs shipped with the ledger."""
    return sorted(p.stem for p in PACKS_DIR.glob("*.json"))


def load_pack(name: str, on: date | None = None) -> PolicyPack:
    """The shipped pack ``name``, in the version in force on ``on`` (default: newest)."""
    available = available_packs()
    if name not in available:
        raise PolicyError(f"unknown policy pack {name!r}; available: {', '.join(available)}")
    return _select(_read(PACKS_DIR / f"{name}.json"), on)


def load_pack_file(path: str | Path, on: date | None = None) -> PolicyPack:
    """A pack from any file (e.g. a new province's measures), version as in load_pack."""
    return _select(_read(Path(path)), on)
