"""Commands that span several events: enrolling actors, onboarding subjects, registering people.

A thin application layer over the aggregates: each method decides the events of one
real-world step (an applicant verified, reviewed and admitted; a person registered
with the personal information kept as disclosures) and saves them as one batch, so
the hard rules are checked together and nothing is half-written.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from ledger.app import LedgerApplication
from ledger.calendar import local_date
from ledger.core.crypto import LocalSigner, key_id
from ledger.core.envelope import b64encode
from ledger.core.errors import LedgerError
from ledger.core.pi import SALT_SIZE, redact
from ledger.disclosures import DisclosureVault
from ledger.domain.catalogue import ServiceItem
from ledger.domain.errors import RuleViolationError
from ledger.domain.registration import (
    Acceptance,
    Agreement,
    Identity,
    Member,
    Organisation,
    Platform,
    Provider,
    acceptance_stream,
    age_check,
    identity_of,
)
from ledger.keys import Key
from ledger.keystore import Keystore, MemorySigners

PERSON_PI = ("name", "id_card", "birth_date", "phone", "address")
CONTACT_PI = ("name", "phone")


class Province:
    """Onboarding commands for one ledger, with custodial keys for the actors it enrols."""

    def __init__(
        self,
        app: LedgerApplication,
        keys: Keystore | MemorySigners,
        *,
        root: str = "root",
        vault: DisclosureVault | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.app, self.keys, self.root, self.vault = app, keys, root, vault
        self.rng = rng  # when given, keys and salts are derived from it (reproducible runs)
        self.disclosures = 0

    # -- keys -----------------------------------------------------------------------------

    def new_signer(self) -> LocalSigner:
        if self.rng is None:
            return LocalSigner.generate()
        return LocalSigner.from_seed(self.rng.randbytes(32))

    def enrol(self, actor: str) -> LocalSigner:
        """A new key for ``actor``, kept in the keystore and registered by the root."""
        signer = self.new_signer()
        self.keys.add(actor, signer)
        self.app.register_key(by=self.root, subject=actor, public_key=signer.public_key)
        return signer

    def _save_enrolled(self, actor: str, *objs: Any) -> None:
        """Save ``objs`` with a new key for ``actor`` as one batch: a subject whose
        registration is refused leaves no key registration behind in the log."""
        signer = self.new_signer()
        self.keys.add(actor, signer)
        key = Key.register(
            actor=self.root,
            subject=actor,
            key=key_id(signer.public_key),
            public_key=b64encode(signer.public_key),
        )
        self.app.save(key, *objs)

    def _salts(self, paths: list[str]) -> dict[str, bytes] | None:
        if self.rng is None:
            return None
        return {p: self.rng.randbytes(SALT_SIZE) for p in paths}

    # -- subjects -------------------------------------------------------------------------

    def organisation(
        self,
        stream: str,
        name: str,
        roles: list[str],
        *,
        parent: str | None = None,
        region: str | None = None,
    ) -> str:
        """An organisation; an authority that acts by locality with its ``region``, an
        administrative division code (GB/T 2260; HN 19(4), 24)."""
        self._save_enrolled(
            stream,
            Organisation.register(
                stream=stream,
                actor=self.root,
                name=name,
                roles=roles,
                parent=parent,
                region=region,
            ),
        )
        return stream

    def platform(
        self,
        stream: str,
        *,
        name: str,
        level: str,
        parent: str | None,
        region: str,
        certifier: str,
        recommender: str | None = None,
        certificate: str,
    ) -> Platform:
        """A platform that applied, was recommended (windows) and certified; ``region`` is
        the administrative division code (GB/T 2260) it serves, within its parent's."""
        platform = Platform.apply_for(
            stream=stream, actor=stream, name=name, level=level, parent=parent, region=region
        )
        if recommender is not None:
            platform.recommend(actor=recommender)
        platform.certify(actor=certifier, certificate=certificate)
        self._save_enrolled(stream, platform)
        return platform

    def provider(
        self,
        stream: str,
        *,
        name: str,
        credit_code: str,
        categories: list[str],
        reviewer: str,
        platform: str,
        documents: list[dict[str, Any]],
        valid_until: str,
    ) -> Provider:
        """A provider that applied, was real-name verified, reviewed, accepted the user
        agreements for providers in effect (where the policy admits under them, HN 8(3)),
        and was admitted."""
        provider = Provider.apply_for(
            stream=stream, actor=stream, name=name, credit_code=credit_code, categories=categories
        )
        provider.verify_real_name(actor=reviewer, method="unified social credit code check")
        provider.review(actor=reviewer, documents=documents, valid_until=valid_until)
        claim = self.claim(provider)
        registered = provider.take_events()
        provider.admit(actor=reviewer, platform=platform)
        self._save_enrolled(
            stream, *registered, claim, *self.acceptances(stream, "provider"), provider
        )
        return provider

    def acceptances(self, party: str, kind: str) -> list[Acceptance]:
        """``party``'s acceptance of each agreement for its ``kind`` in the version in
        effect today, where it has not accepted that version (or a later one) yet."""
        today = local_date(self.app.clock())
        out = []
        for stream in self.app.find("agreements", kind):
            agreement = self.app.subject(stream)
            version = agreement.version_on(today) if isinstance(agreement, Agreement) else None
            if version is None:
                continue
            held = self.app.subject(acceptance_stream(stream, party))
            if not isinstance(held, Acceptance):
                out.append(Acceptance.accept(actor=party, agreement=stream, version=version))
            elif max(held.accepted) < version:
                held.accept_version(actor=party, agreement=stream, version=version)
                out.append(held)
        return out

    def agreement(
        self,
        stream: str,
        *,
        by: str,
        title: str,
        parties: list[str],
        sha256: str,
        effective_from: date | None = None,
    ) -> Agreement:
        """A user agreement published by ``by`` (HN 8(3)), in effect from today unless
        another day is given; ``sha256`` is the digest of its text."""
        day = effective_from or local_date(self.app.clock())
        agreement = Agreement.publish(
            stream=stream,
            actor=by,
            title=title,
            parties=parties,
            sha256=sha256,
            effective_from=day.isoformat(),
        )
        self.app.save(agreement)
        return agreement

    def claim(self, registrant: Provider | Member) -> Identity:
        """The claim of ``registrant``'s identity that its registration must write with it
        (rule 4): a new identity, or one whose earlier holder deregistered."""
        return Identity.claimed_by(registrant, self.app.subject(str(identity_of(registrant))))

    def enterprise(
        self,
        stream: str,
        *,
        by: str,
        platform: str,
        name: str,
        credit_code: str,
        contact: dict[str, str],
        state_owned: bool = False,
        verify: bool = True,
        key: bool = True,
    ) -> Member:
        """An enterprise member; its contact person's details only as commitments."""
        body, disclosures = redact(
            {"contact": contact},
            [f"/contact/{k}" for k in CONTACT_PI if k in contact],
            self._salts([f"/contact/{k}" for k in CONTACT_PI if k in contact]),
        )
        member = Member.register(
            stream=stream,
            actor=by,
            kind="enterprise",
            name=name,
            credit_code=credit_code,
            identity=body["contact"],
            platform=platform,
            state_owned=state_owned,
        )
        return self._finish_member(member, by, disclosures, verify=verify, key=key)

    def person(
        self,
        stream: str,
        *,
        by: str,
        platform: str,
        identity: dict[str, str],
        birth_date: date,
        verify: bool = True,
        key: bool = True,
    ) -> Member:
        """A person: AH 25's age check is made here, from the birth date, and only its
        result is written; every personal value becomes a commitment. The vault keys the
        index of the ID-card number that makes the person's identity unique."""
        if self.vault is None:
            raise LedgerError("registering a person needs the disclosure vault")
        if not identity.get("id_card"):
            raise LedgerError(f"{stream}: a person registers with an ID-card number")
        today = local_date(self.app.clock())
        ages = self.app.policy.parameters.user_age_range
        check = None
        if ages is not None:
            check = age_check(birth_date, today, (ages.min_years, ages.max_years))
            if check["result"] != "within":
                rule = self.app.policy.rule(3)
                articles = "; ".join(rule.articles) if rule else "AH 25"
                raise RuleViolationError(
                    3, articles, f"{stream} is {check['result']} the age range {check['range']}"
                )
        values = {**identity, "birth_date": birth_date.isoformat()}
        paths = [f"/{k}" for k in PERSON_PI if k in values]
        body, disclosures = redact(values, paths, self._salts(paths))
        member = Member.register(
            stream=stream,
            actor=by,
            kind="person",
            name=body.pop("name"),
            credit_code=None,
            identity=body,
            platform=platform,
            age_check=check,
            index=self.vault.person_index(identity["id_card"]),
        )
        return self._finish_member(member, by, disclosures, verify=verify, key=key)

    def _finish_member(
        self, member: Member, by: str, disclosures: list[Any], *, verify: bool, key: bool
    ) -> Member:
        if verify:
            member.verify_real_name(actor=by, method="identity document check")
        if key:
            self._save_enrolled(member.id, member, self.claim(member))
        else:
            self.app.save(member, self.claim(member))
        if self.vault is not None:
            self.disclosures += self.vault.store(member.id, disclosures)
        return member

    def item(self, stream: str, *, provider: str, **fields: Any) -> ServiceItem:
        item = ServiceItem.publish(stream=stream, actor=provider, provider=provider, **fields)
        self.app.save(item)
        return item
