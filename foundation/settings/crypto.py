"""Settings of the archive's envelope encryption (dead-letter payloads and session
recordings): on by default, with a local master key file in the embedded mode and
AWS KMS in production."""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from foundation.settings.common import check_storage_url

# A key id, a key ARN, an alias name or an alias ARN (what kms:Encrypt accepts).
_KMS_KEY_ID = re.compile(
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|mrk-[0-9a-f]{32}"
    r"|alias/[A-Za-z0-9/_-]{1,250}"
    r"|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key/[A-Za-z0-9-]{1,64}|alias/[A-Za-z0-9/_-]{1,250}))\Z"
)
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}\Z")


class CryptoSettings(BaseModel):
    """The encryption section of :class:`foundation.settings.Settings`."""

    crypto_enabled: bool = Field(
        default=True,
        description="Encrypt dead-letter payloads and session recordings (per-site keys).",
    )
    crypto_master: Literal["local", "kms"] = Field(
        default="local",
        description="What wraps the data keys: a local key file, or AWS KMS.",
    )
    crypto_master_key_file: str = Field(
        default="",
        description="The local master key file (created 0600 on first use); empty: "
        "<data dir>/secrets/master.key.",
    )
    crypto_kms_key_id: str = Field(
        default="",
        description="The KMS key (id, ARN or alias) wrapping the data keys when "
        "INSIGHTLITE_CRYPTO_MASTER=kms.",
    )
    crypto_kms_region: str = Field(
        default="", description="The KMS key's AWS region; empty: the SDK's default."
    )
    crypto_keys_url: str = Field(
        default="",
        description="Where the wrapped data keys are stored; empty: <archive>/keys.",
    )
    crypto_key_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How long a process keeps an unwrapped data key; a shred or a "
        "rotation made elsewhere takes effect within this time.",
    )

    @field_validator("crypto_keys_url")
    @classmethod
    def _check_crypto_keys_url(cls, value: str) -> str:
        return check_storage_url(value) if value else value

    @field_validator("crypto_kms_key_id")
    @classmethod
    def _check_crypto_kms_key_id(cls, value: str) -> str:
        if value and not _KMS_KEY_ID.fullmatch(value):
            raise ValueError("must be a KMS key id, key ARN, alias/NAME or alias ARN")
        return value

    @field_validator("crypto_kms_region")
    @classmethod
    def _check_crypto_kms_region(cls, value: str) -> str:
        if value and not _REGION.fullmatch(value):
            raise ValueError("must be an AWS region such as eu-west-3")
        return value

    @model_validator(mode="after")
    def _check_crypto_master(self) -> Self:
        if self.crypto_enabled and self.crypto_master == "kms" and not self.crypto_kms_key_id:
            raise ValueError(
                "crypto_kms_key_id: required when INSIGHTLITE_CRYPTO_MASTER=kms "
                "(the KMS key that wraps the data keys)"
            )
        return self
