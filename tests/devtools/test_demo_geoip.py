"""Tests of the demo GeoIP country database."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import geoip2.database
import geoip2.errors
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools import demo_geoip
from devtools.demo_geoip import (
    DEMO_NETWORKS,
    UNLISTED_NETWORKS,
    build_demo_mmdb,
    country_of,
    ensure_demo_mmdb,
)

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
NETWORKS: list[tuple[_Network, str]] = [
    (ipaddress.ip_network(cidr), iso_code) for cidr, iso_code in DEMO_NETWORKS
]


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[geoip2.database.Reader]:
    path = build_demo_mmdb(tmp_path_factory.mktemp("geo") / "demo.mmdb")
    with geoip2.database.Reader(str(path)) as opened:
        yield opened


def sample_addresses(network: _Network) -> list[str]:
    last = network.num_addresses - 1
    return [str(network[offset]) for offset in (0, 1, last // 2, last - 1, last)]


def test_table_is_plausible() -> None:
    assert 20 <= len(DEMO_NETWORKS) <= 30
    countries = {iso_code for _, iso_code in DEMO_NETWORKS}
    assert {"US", "GB", "DE", "FR", "NL", "BR", "IN", "JP", "CA", "AU", "ES", "SE"} <= countries
    assert any(network.version == 6 for network, _ in NETWORKS)
    unlisted = [ipaddress.ip_network(cidr) for cidr in UNLISTED_NETWORKS]
    everything = [network for network, _ in NETWORKS] + unlisted
    for network in everything:
        # Public space only: no private, loopback, documentation or reserved ranges.
        assert network.is_global, network
        assert not network.is_private and not network.is_reserved
    for index, network in enumerate(everything):
        for other in everything[index + 1 :]:
            assert network.version != other.version or not network.overlaps(other)


def test_database_answers_for_every_network(reader: geoip2.database.Reader) -> None:
    assert reader.metadata().database_type == "GeoLite2-Country"
    for network, iso_code in NETWORKS:
        for ip in sample_addresses(network):
            answer = reader.country(ip)
            assert answer.country.iso_code == iso_code, ip
            assert answer.country.names["en"]
            assert answer.continent.code in {"AF", "AS", "EU", "NA", "OC", "SA"}
            assert answer.registered_country.iso_code == iso_code
            assert country_of(ip) == iso_code


def test_database_resolves_ipv4_mapped_addresses(reader: geoip2.database.Reader) -> None:
    assert reader.country("::ffff:73.32.1.2").country.iso_code == "US"
    assert country_of("::ffff:73.32.1.2") == "US"


@pytest.mark.parametrize("ip", ["41.0.0.1", "200.41.2.3", "2c0f:f248::1", "8.8.8.8", "10.0.0.1"])
def test_addresses_outside_the_table_are_unknown(reader: geoip2.database.Reader, ip: str) -> None:
    with pytest.raises(geoip2.errors.AddressNotFoundError):
        reader.country(ip)
    assert country_of(ip) is None


@pytest.mark.parametrize("text", ["", "not an ip", "300.1.1.1", "73.32.0.0/12"])
def test_country_of_is_none_for_non_addresses(text: str) -> None:
    assert country_of(text) is None


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_country_of_agrees_with_the_database(
    reader: geoip2.database.Reader, data: st.DataObject
) -> None:
    network, iso_code = data.draw(st.sampled_from(NETWORKS))
    ip = str(network[data.draw(st.integers(0, network.num_addresses - 1))])
    assert country_of(ip) == iso_code == reader.country(ip).country.iso_code


def test_build_creates_parents_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "demo.mmdb"
    assert build_demo_mmdb(str(target)) == target
    assert target.is_file()
    assert [p.name for p in target.parent.iterdir()] == ["demo.mmdb"]


def test_failed_build_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "demo.mmdb"
    target.write_bytes(b"old")

    def fail(self: object, filename: str) -> None:
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(demo_geoip.MMDBWriter, "to_db_file", fail)
    with pytest.raises(OSError, match="disk full"):
        build_demo_mmdb(target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["demo.mmdb"]


def test_ensure_builds_only_when_missing(tmp_path: Path) -> None:
    target = tmp_path / "geo" / "demo.mmdb"
    assert ensure_demo_mmdb(target) == target
    with geoip2.database.Reader(str(target)) as opened:
        assert opened.country("86.128.0.1").country.iso_code == "GB"
    target.write_bytes(b"kept")
    assert ensure_demo_mmdb(target) == target
    assert target.read_bytes() == b"kept"
