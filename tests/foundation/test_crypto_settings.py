"""The encryption settings: on by default with a local key file, KMS needs a key id,
and a bad value fails at start naming its variable."""

from __future__ import annotations

import pytest

from foundation.settings import ConfigError, load_settings


def test_encryption_is_on_by_default_with_a_local_key_file() -> None:
    settings = load_settings()
    assert settings.crypto_enabled is True
    assert settings.crypto_master == "local"
    assert settings.crypto_master_key_file == "" and settings.crypto_keys_url == ""
    assert settings.crypto_key_cache_seconds == 60


@pytest.mark.parametrize(
    "key_id",
    [
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "alias/insightlite-archive",
        "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-3:123456789012:alias/insightlite",
    ],
)
def test_kms_with_a_key(key_id: str) -> None:
    settings = load_settings(crypto_master="kms", crypto_kms_key_id=key_id)
    assert settings.crypto_kms_key_id == key_id


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"crypto_master": "kms"}, "INSIGHTLITE_CRYPTO_KMS_KEY_ID"),
        ({"crypto_master": "vault"}, "INSIGHTLITE_CRYPTO_MASTER"),
        ({"crypto_kms_key_id": "alias/x\n"}, "INSIGHTLITE_CRYPTO_KMS_KEY_ID"),
        ({"crypto_kms_key_id": "not a key"}, "INSIGHTLITE_CRYPTO_KMS_KEY_ID"),
        ({"crypto_kms_region": "Europe"}, "INSIGHTLITE_CRYPTO_KMS_REGION"),
        ({"crypto_keys_url": "http://keys"}, "INSIGHTLITE_CRYPTO_KEYS_URL"),
        ({"crypto_key_cache_seconds": -1}, "INSIGHTLITE_CRYPTO_KEY_CACHE_SECONDS"),
        ({"crypto_enabled": "maybe"}, "INSIGHTLITE_CRYPTO_ENABLED"),
    ],
)
def test_a_bad_setting_is_named(overrides: dict[str, object], variable: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(**overrides)
    assert variable in str(raised.value)


def test_the_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTLITE_CRYPTO_ENABLED", "false")
    monkeypatch.setenv("INSIGHTLITE_CRYPTO_KEYS_URL", "s3://bucket/keys")
    settings = load_settings()
    assert settings.crypto_enabled is False and settings.crypto_keys_url == "s3://bucket/keys"
