"""Settings, read once from the environment (``LEDGER_*``) and passed in."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.storage import DEFAULT_DATABASE_URL


class Settings(BaseSettings):
    """``LEDGER_DATABASE_URL``, ``LEDGER_KEYSTORE_PASSPHRASE``, ``LEDGER_MASTER_KEY``, ..."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    keystore_passphrase: SecretStr | None = None
    master_key: SecretStr | None = Field(
        default=None, description="standard base64 of 32 random bytes; wraps per-subject data keys"
    )
    max_skew_seconds: int = Field(default=300, ge=0, le=86_400)
    witnesses: str = Field(
        default="", description="comma-separated <witness cosigner vkey>@<submission URL>"
    )
    witness_quorum: int = Field(default=0, ge=0, description="k of n cosignatures to publish")
