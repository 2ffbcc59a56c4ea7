"""The log's side of witnessing: push each checkpoint to the supervising units' witnesses
(c2sp.org/tlog-witness), keep their cosignatures, count a checkpoint published at k of n.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ledger.core.checkpoint import COSIGNATURE_TYPE, cosignature_key_id, verify_cosignature
from ledger.core.crypto import PUBLIC_KEY_SIZE
from ledger.core.envelope import b64decode, b64encode, format_time
from ledger.core.errors import FormatError, LedgerError, VerificationError
from ledger.storage import Database
from ledger.tlog import SignedCheckpoint, TreeStore

Transport = Callable[[str, bytes], tuple[int, str, bytes]]  # url, body -> status, type, body


class WitnessingError(LedgerError):
    """A witness is misconfigured or answered outside the protocol."""


@dataclass(frozen=True)
class WitnessConfig:
    """A witness: its cosigner verifier key and its submission URL prefix."""

    name: str
    public_key: bytes
    url: str

    @classmethod
    def parse(cls, spec: str) -> WitnessConfig:
        """``name+keyid+base64(0x04 || key)@https://witness.example/prefix``."""
        vkey, sep, url = spec.strip().partition("@")
        parts = vkey.split("+", 2)
        if not sep or not url or len(parts) != 3:
            raise FormatError(f"witness {spec!r}: expected <cosigner vkey>@<url>")
        name, key_hash, key_b64 = parts
        key = b64decode(key_b64, size=PUBLIC_KEY_SIZE + 1, what="witness key")
        if key[0] != COSIGNATURE_TYPE:
            raise FormatError(f"witness {name}: key type must be {COSIGNATURE_TYPE:#04x}")
        if cosignature_key_id(name, key[1:]).hex() != key_hash:
            raise FormatError(f"witness {name}: key id does not match name and key")
        return cls(name, key[1:], url.rstrip("/"))

    @property
    def vkey(self) -> str:
        key_id = cosignature_key_id(self.name, self.public_key).hex()
        return f"{self.name}+{key_id}+{b64encode(bytes([COSIGNATURE_TYPE]) + self.public_key)}"


def http_post(url: str, body: bytes, timeout: float = 5.0) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - configured URL
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()
    except (urllib.error.URLError, OSError) as e:
        raise WitnessingError(f"witness at {url} is unreachable: {e}") from e


class Cosigners:
    """Cosignatures of one ledger's checkpoints, by witness; append-only."""

    def __init__(
        self,
        db: Database,
        origin: str,
        witnesses: Sequence[WitnessConfig],
        *,
        quorum: int,
        transport: Transport = http_post,
    ) -> None:
        if not 0 <= quorum <= len(witnesses):
            raise WitnessingError(f"quorum {quorum} of {len(witnesses)} witnesses is impossible")
        self.db, self.origin, self.witnesses = db, origin, list(witnesses)
        self.quorum, self.transport = quorum, transport
        self.tree = TreeStore(db, origin)
        self.table = self.tree.cosignatures
        self.failures: dict[str, str] = {}

    def _last_size(self, witness: WitnessConfig) -> int:
        rows = self.db.execute(
            f"SELECT MAX(size) FROM {self.table} WHERE witness = ?", (witness.name,)
        )
        return int(rows[0][0] or 0)

    def _request(self, signed: SignedCheckpoint, old: int) -> bytes:
        size = signed.checkpoint.size
        proof = self.tree.consistency(old, size) if 0 < old < size else []
        lines = [f"old {old}", *(b64encode(h) for h in proof)]
        return ("\n".join(lines) + "\n\n" + signed.note).encode()

    def ask(self, witness: WitnessConfig, signed: SignedCheckpoint) -> str | None:
        """Ask one witness to cosign; store and return its signature line, or None."""
        old = self._last_size(witness)
        url = f"{witness.url}/add-checkpoint"
        for _ in range(2):  # a 409 tells the size the witness holds: try once more from it
            status, content_type, body = self.transport(url, self._request(signed, old))
            text = body.decode("utf-8", "replace")
            if status == 409 and content_type.startswith("text/x.tlog.size"):
                try:
                    held = int(text.strip())
                except ValueError:
                    break
                if held > signed.checkpoint.size or held == old:
                    break
                old = held
                continue
            if status == 200:
                return self._keep(witness, signed, text)
            break
        self.failures[witness.name] = f"HTTP {status}: {text.strip()[:200]}"
        return None

    def _keep(self, witness: WitnessConfig, signed: SignedCheckpoint, text: str) -> str | None:
        for line in text.splitlines(keepends=True):
            try:
                verify_cosignature(signed.note + line, witness.name, witness.public_key)
            except (FormatError, VerificationError):
                continue  # other witness keys, or not a valid cosignature: ignored
            self.db.execute(
                f"INSERT INTO {self.table} (size, witness, line, root, received) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (size, witness) DO NOTHING",
                (
                    signed.checkpoint.size,
                    witness.name,
                    line,
                    signed.checkpoint.root,
                    format_time(datetime.now(UTC)),
                ),
            )
            return line
        self.failures[witness.name] = "answered without a valid cosignature"
        return None

    def publish(self, signed: SignedCheckpoint) -> int:
        """Ask every witness; return how many of them cosigned this checkpoint."""
        self.failures = {}
        for witness in self.witnesses:
            try:
                self.ask(witness, signed)
            except WitnessingError as e:
                self.failures[witness.name] = str(e)
        return len(self.lines(signed.checkpoint.size))

    def lines(self, size: int) -> list[str]:
        """Stored cosignature lines at ``size`` by the configured witnesses."""
        return self.tree.cosignature_lines(size, {w.name for w in self.witnesses})

    def is_published(self, size: int) -> bool:
        return len(self.lines(size)) >= self.quorum

    def cosigned_note(self, signed: SignedCheckpoint) -> str:
        """The checkpoint with the witnesses' cosignature lines appended."""
        return signed.note + "".join(self.lines(signed.checkpoint.size))
