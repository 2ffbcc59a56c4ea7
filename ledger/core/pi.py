"""Personal-information commitments (FORMAT.md §3).

A personal value in a body is replaced by ``{"$pi": hex(SHA-256(JCS([salt, path, value])))}``;
the disclosure ``[salt, path, value]`` lives outside the log and can be erased.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger.core.canonical import canonical
from ledger.core.envelope import b64decode, b64encode, is_hex_hash
from ledger.core.errors import FormatError

PI_MEMBER = "$pi"
SALT_SIZE = 16


@dataclass(frozen=True)
class Disclosure:
    """What opens one commitment: ``[salt, path, value]``."""

    salt: str
    path: str
    value: Any

    def to_json(self) -> list[Any]:
        return [self.salt, self.path, self.value]

    @classmethod
    def from_json(cls, data: Any) -> Disclosure:
        if not (isinstance(data, list) and len(data) == 3):
            raise FormatError("a disclosure is [salt, path, value]")
        salt, path, value = data
        b64decode(salt, size=SALT_SIZE, what="disclosure salt")
        if not isinstance(path, str) or not path.startswith("/"):
            raise FormatError("disclosure path must be a JSON pointer")
        return cls(salt=salt, path=path, value=value)

    def commitment(self) -> str:
        return hashlib.sha256(canonical(self.to_json())).hexdigest()


def commit(path: str, value: Any, salt: bytes | None = None) -> tuple[dict[str, str], Disclosure]:
    """Commitment object and disclosure for ``value`` at JSON pointer ``path``."""
    salt_bytes = secrets.token_bytes(SALT_SIZE) if salt is None else salt
    if len(salt_bytes) != SALT_SIZE:
        raise FormatError(f"salt: expected {SALT_SIZE} bytes, got {len(salt_bytes)}")
    disclosure = Disclosure(salt=b64encode(salt_bytes), path=path, value=value)
    return {PI_MEMBER: disclosure.commitment()}, disclosure


def is_commitment(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {PI_MEMBER} and is_hex_hash(value[PI_MEMBER])


def opens(commitment: Mapping[str, Any], disclosure: Disclosure) -> bool:
    """True when ``disclosure`` matches ``commitment`` (constant-time comparison)."""
    if not is_commitment(commitment):
        return False
    return hmac.compare_digest(commitment[PI_MEMBER], disclosure.commitment())


def pointer_tokens(path: str) -> list[str]:
    """RFC 6901 reference tokens of a JSON pointer."""
    if not path.startswith("/"):
        raise FormatError(f"JSON pointer {path!r} must start with '/'")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


_INDEX = re.compile(r"0|[1-9][0-9]*")


def _index(token: str) -> int:
    """An RFC 6901 array index: 0, or digits without a leading zero."""
    if not _INDEX.fullmatch(token):
        raise FormatError(f"{token!r} is not an array index")
    return int(token)


def _resolve_parent(body: Any, path: str) -> tuple[Any, str | int]:
    tokens = pointer_tokens(path)
    node = body
    for token in tokens[:-1]:
        node = node[_index(token)] if isinstance(node, list) else node[token]
    last: str | int = _index(tokens[-1]) if isinstance(node, list) else tokens[-1]
    return node, last


def redact(
    body: Mapping[str, Any], paths: Iterable[str], salts: Mapping[str, bytes] | None = None
) -> tuple[dict[str, Any], list[Disclosure]]:
    """Replace each personal value at ``paths`` by its commitment; return body and disclosures."""
    out = copy.deepcopy(dict(body))
    disclosures = []
    for path in paths:
        try:
            parent, last = _resolve_parent(out, path)
            value = parent[last]
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise FormatError(f"no personal value at {path}") from e
        if is_commitment(value):
            raise FormatError(f"{path} is already a commitment")
        obj, disclosure = commit(path, value, (salts or {}).get(path))
        parent[last] = obj
        disclosures.append(disclosure)
    return out, disclosures


def commitment_paths(body: Any, prefix: str = "") -> list[str]:
    """JSON pointers of every commitment object inside ``body``."""
    if is_commitment(body):
        return [prefix]
    found: list[str] = []
    if isinstance(body, dict):
        for key, value in body.items():
            token = key.replace("~", "~0").replace("/", "~1")
            found.extend(commitment_paths(value, f"{prefix}/{token}"))
    elif isinstance(body, list):
        for i, value in enumerate(body):
            found.extend(commitment_paths(value, f"{prefix}/{i}"))
    return found
