from __future__ import annotations

from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from operators.enrich import Enricher
from operators.geo import CountryLookup, GeoDatabaseError
from tests.operators.conftest import make_event
from tests.operators.test_bot_filter import CHROME, IPHONE
from tests.operators.visitor_support import resolved


@pytest.fixture(scope="module")
def mmdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GeoLite2-Country-shaped database built by the test itself."""
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True)
    for cidr, code in (("81.2.69.0/24", "GB"), ("89.160.20.0/24", "SE"), ("2a02:cf40::/29", "NO")):
        writer.insert_network(IPSet([cidr]), {"country": {"iso_code": code, "names": {"en": code}}})
    writer.insert_network(IPSet(["203.0.113.0/24"]), {"registered_country": {"iso_code": "AU"}})
    path = tmp_path_factory.mktemp("geo") / "test-country.mmdb"
    writer.to_db_file(str(path))
    return path


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("81.2.69.160", "GB"),
        ("89.160.20.112", "SE"),
        ("2a02:cf40::1", "NO"),
        ("203.0.113.9", "AU"),
        ("8.8.8.8", ""),
        ("not an ip", ""),
        ("", ""),
    ],
)
def test_country_lookup(mmdb: Path, ip: str, country: str) -> None:
    assert CountryLookup(mmdb).country(ip) == country


def test_missing_or_invalid_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GeoDatabaseError, match="geoip_db: no file"):
        CountryLookup(tmp_path / "absent.mmdb")
    bogus = tmp_path / "bogus.mmdb"
    bogus.write_bytes(b"this is not a maxmind database" * 10)
    with pytest.raises(GeoDatabaseError, match="not a MaxMind DB"):
        CountryLookup(bogus)


def test_enricher_adds_device_country_and_error_class(mmdb: Path) -> None:
    events = [
        make_event(ua=CHROME, ip="81.2.69.160"),
        make_event(
            ua=IPHONE,
            ip="8.8.8.8",
            type="error",
            error={"message": "ReferenceError: gtag is not defined"},
        ),
        make_event(ip=None),
    ]
    batch = Enricher().apply(resolved(events, mmdb))
    assert [(e["device_type"], e["country_code"], e["error_class"]) for e in batch.events] == [
        ("desktop", "GB", ""),
        ("mobile", "", "reference_error"),
        ("desktop", "", ""),
    ]


def test_enricher_without_database_sets_unknown_country() -> None:
    (event,) = Enricher().apply(resolved([make_event()])).events
    assert event["country_code"] == ""
