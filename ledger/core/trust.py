"""Keys and trust (FORMAT.md §4): who may sign what, and when.

The key ring is rebuilt from the log alone: ``LedgerOpened`` names the root keys,
``KeyRegistered`` binds a key to an actor, ``KeyRevoked`` ends it from ``revoked_at``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.core.crypto import ALGORITHM, PUBLIC_KEY_SIZE, key_id
from ledger.core.envelope import Envelope, b64decode, is_hex_hash, parse_time
from ledger.core.errors import FormatError, TrustError
from ledger.core.note import NoteVerifier

LEDGER_STREAM = "ledger"
LEDGER_OPENED = "LedgerOpened"
KEY_REGISTERED = "KeyRegistered"
KEY_REVOKED = "KeyRevoked"
KEY_EVENT_TYPES = frozenset({LEDGER_OPENED, KEY_REGISTERED, KEY_REVOKED})


def key_stream(key: str) -> str:
    """The stream that holds a key's registration and revocation."""
    return f"key/{key}"


@dataclass(slots=True)
class KeyState:
    actor: str
    public_key: bytes
    index: int
    revoked_at: str | None = None
    last_time: str = ""
    last_index: int = -1


@dataclass(frozen=True)
class Opening:
    """The parsed body of ``LedgerOpened``."""

    origin: str
    policy: str
    verifier_key: str
    root_keys: Mapping[str, bytes]


def _members(body: Mapping[str, Any], names: Iterable[str], what: str) -> None:
    expected = set(names)
    if set(body) != expected:
        raise FormatError(f"{what} body: expected members {sorted(expected)}, got {sorted(body)}")


def _string(body: Mapping[str, Any], name: str, what: str) -> str:
    value = body[name]
    if not isinstance(value, str) or not value:
        raise FormatError(f"{what} body: {name!r} must be a non-empty string")
    return value


def _public_key(text: Any, key: Any, what: str) -> bytes:
    public_key = b64decode(text, size=PUBLIC_KEY_SIZE, what=f"{what} public_key")
    if not is_hex_hash(key) or key_id(public_key) != key:
        raise FormatError(f"{what}: key {key!r} is not SHA-256 of its public key")
    return public_key


def parse_opening(body: Mapping[str, Any]) -> Opening:
    what = LEDGER_OPENED
    _members(body, ("origin", "policy", "verifier_key", "root_keys"), what)
    origin = _string(body, "origin", what)
    verifier = NoteVerifier.parse(_string(body, "verifier_key", what))
    if verifier.name != origin:
        raise FormatError(f"{what}: verifier key name {verifier.name!r} is not the origin")
    roots = body["root_keys"]
    if not isinstance(roots, list) or not roots:
        raise FormatError(f"{what}: root_keys must be a non-empty list")
    root_keys: dict[str, bytes] = {}
    for item in roots:
        if not isinstance(item, dict) or set(item) != {"key", "public_key"}:
            raise FormatError(f"{what}: each root key is {{key, public_key}}")
        root_keys[item["key"]] = _public_key(item["public_key"], item["key"], what)
    return Opening(origin, _string(body, "policy", what), str(verifier), root_keys)


@dataclass
class KeyRing:
    """Every key's owner and validity, as of the entries applied so far."""

    keys: dict[str, KeyState] = field(default_factory=dict)
    root_actor: str | None = None
    opening: Opening | None = None
    registrars: set[str] = field(default_factory=set)

    def public_keys(self) -> dict[str, bytes]:
        return {k: s.public_key for k, s in self.keys.items()}

    def authorise(self, index: int, env: Envelope) -> KeyState:
        """The key state that makes ``env`` valid at ``index``; TrustError otherwise."""
        if index == 0:
            return self._authorise_opening(env)
        return self.check_signer(env, index)

    def check_signer(self, env: Envelope, index: int | None = None) -> KeyState:
        """The state of ``env``'s key if it belongs to ``env.actor`` and is valid at its time."""
        state = self.keys.get(env.key)
        if state is None:
            raise TrustError(f"key {env.key} is not registered", index=index, stream=env.stream)
        if state.actor != env.actor:
            raise TrustError(
                f"key {env.key} belongs to {state.actor!r}, not to actor {env.actor!r}",
                index=index,
                stream=env.stream,
            )
        if state.revoked_at is not None and env.time >= state.revoked_at:
            raise TrustError(
                f"key {env.key} was revoked at {state.revoked_at}; entry time is {env.time}",
                index=index,
                stream=env.stream,
            )
        return state

    def _authorise_opening(self, env: Envelope) -> KeyState:
        if env.type != LEDGER_OPENED or env.stream != LEDGER_STREAM or env.version != 1:
            raise TrustError(
                f"index 0: expected {LEDGER_OPENED} in stream {LEDGER_STREAM!r} at version 1, "
                f"got {env.type} in {env.stream!r} at version {env.version}",
                index=0,
                stream=env.stream,
            )
        try:
            opening = parse_opening(env.body)
        except FormatError as e:
            raise TrustError(str(e), index=0, stream=env.stream) from e
        if opening.origin != env.ledger:
            raise TrustError(f"origin {opening.origin!r} differs from envelope ledger", index=0)
        if env.key not in opening.root_keys:
            raise TrustError(f"{LEDGER_OPENED} must be signed by a root key", index=0)
        return KeyState(env.actor, opening.root_keys[env.key], 0)

    def note_signed(self, index: int, env: Envelope, state: KeyState) -> None:
        if env.time > state.last_time:
            state.last_time, state.last_index = env.time, index

    def apply(self, index: int, env: Envelope) -> None:
        """Take the effect of a key event; TrustError when its body or signer is not allowed."""
        try:
            if env.type == LEDGER_OPENED and index == 0:
                self._open(env)
            elif env.type == LEDGER_OPENED:
                raise FormatError(f"{LEDGER_OPENED} may only stand at index 0")
            elif env.type == KEY_REGISTERED:
                self._register(index, env)
            elif env.type == KEY_REVOKED:
                self._revoke(env)
        except FormatError as e:
            raise TrustError(str(e), index=index, stream=env.stream) from e

    def _open(self, env: Envelope) -> None:
        opening = parse_opening(env.body)
        self.opening, self.root_actor = opening, env.actor
        self.registrars.add(env.actor)
        for key, public_key in opening.root_keys.items():
            self.keys[key] = KeyState(env.actor, public_key, 0)
        self.note_signed(0, env, self.keys[env.key])

    def _register(self, index: int, env: Envelope) -> None:
        what = KEY_REGISTERED
        _members(env.body, ("subject", "key", "public_key", "algorithm"), what)
        if env.actor not in self.registrars:
            raise FormatError(f"actor {env.actor!r} may not register keys")
        if env.body["algorithm"] != ALGORITHM:
            raise FormatError(f"{what}: algorithm must be {ALGORITHM!r}")
        subject = _string(env.body, "subject", what)
        key = env.body["key"]
        public_key = _public_key(env.body["public_key"], key, what)
        if key in self.keys:
            raise FormatError(f"key {key} is already registered to {self.keys[key].actor!r}")
        self.keys[key] = KeyState(subject, public_key, index)

    def _revoke(self, env: Envelope) -> None:
        what = KEY_REVOKED
        _members(env.body, ("key", "revoked_at", "reason"), what)
        key, revoked_at = env.body["key"], _string(env.body, "revoked_at", what)
        _string(env.body, "reason", what)
        parse_time(revoked_at)
        state = self.keys.get(key) if isinstance(key, str) else None
        if state is None:
            raise FormatError(f"{what}: key {key!r} is not registered")
        if env.actor not in self.registrars and env.actor != state.actor:
            raise FormatError(f"actor {env.actor!r} may not revoke a key of {state.actor!r}")
        if state.revoked_at is not None:
            raise FormatError(f"{what}: key {key} was already revoked at {state.revoked_at}")
        if state.last_time and revoked_at <= state.last_time:
            raise FormatError(
                f"{what}: revoked_at {revoked_at} would invalidate the entry at log index "
                f"{state.last_index}, signed at {state.last_time}"
            )
        state.revoked_at = revoked_at
