"""A small, self-made GeoIP country database for demos and tests.

The real GeoLite2 database needs a licence key and a download, neither of which a
fresh clone or CI has. This module writes a MaxMind DB with the same shape as
GeoLite2-Country for a fixed table of public ranges, so the enrichment code can be
exercised end to end with the real `geoip2` reader. The synthetic traffic generator
draws its client addresses from the same table, so most generated sessions resolve
to a country and a known few (from `UNLISTED_NETWORKS`) do not.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from pathlib import Path
from typing import Any, Final

from mmdb_writer import MMDBWriter
from netaddr import IPNetwork, IPSet

DATABASE_TYPE: Final = "GeoLite2-Country"

# (CIDR, ISO-3166 alpha-2). Plausible public ISP, cloud and crawler ranges; none is
# private, loopback or documentation-only, and no two overlap.
DEMO_NETWORKS: Final[tuple[tuple[str, str], ...]] = (
    ("73.32.0.0/12", "US"),  # residential cable
    ("108.0.0.0/13", "US"),  # residential fibre
    ("66.249.64.0/19", "US"),  # search-engine crawler range
    ("157.55.39.0/24", "US"),  # search-engine crawler range
    ("3.80.0.0/12", "US"),  # cloud data centre
    ("86.128.0.0/12", "GB"),
    ("81.96.0.0/13", "GB"),
    ("79.192.0.0/12", "DE"),
    ("91.0.0.0/12", "DE"),
    ("90.0.0.0/13", "FR"),
    ("54.36.148.0/22", "FR"),  # hosting provider used by an SEO crawler
    ("84.24.0.0/14", "NL"),
    ("177.32.0.0/12", "BR"),
    ("189.0.0.0/13", "BR"),
    ("117.192.0.0/12", "IN"),
    ("49.32.0.0/12", "IN"),
    ("126.0.0.0/11", "JP"),
    ("24.114.0.0/16", "CA"),
    ("70.24.0.0/13", "CA"),
    ("1.128.0.0/12", "AU"),
    ("79.144.0.0/12", "ES"),
    ("78.64.0.0/12", "SE"),
    ("5.255.253.0/24", "RU"),  # search-engine crawler range
    ("2600:1700::/28", "US"),
    ("2003::/19", "DE"),
    ("2a01:e00::/26", "FR"),
    ("2a00:23c0::/27", "GB"),
    ("240d:1a::/32", "JP"),
)

# Public ranges deliberately left out of the demo database: lookups there must come
# back empty ("unknown country"), which the pipeline has to handle too.
UNLISTED_NETWORKS: Final[tuple[str, ...]] = (
    "41.0.0.0/14",
    "196.24.0.0/14",
    "200.40.0.0/14",
    "2c0f:f248::/32",
)

_CONTINENTS: Final[dict[str, tuple[int, str]]] = {
    "AF": (6255146, "Africa"),
    "AS": (6255147, "Asia"),
    "EU": (6255148, "Europe"),
    "NA": (6255149, "North America"),
    "OC": (6255151, "Oceania"),
    "SA": (6255150, "South America"),
}

# ISO code -> (GeoNames id, English name, continent code), as GeoLite2 records them.
_COUNTRIES: Final[dict[str, tuple[int, str, str]]] = {
    "AU": (2077456, "Australia", "OC"),
    "BR": (3469034, "Brazil", "SA"),
    "CA": (6251999, "Canada", "NA"),
    "DE": (2921044, "Germany", "EU"),
    "ES": (2510769, "Spain", "EU"),
    "FR": (3017382, "France", "EU"),
    "GB": (2635167, "United Kingdom", "EU"),
    "IN": (1269750, "India", "AS"),
    "JP": (1861060, "Japan", "AS"),
    "NL": (2750405, "Netherlands", "EU"),
    "RU": (2017370, "Russia", "EU"),
    "SE": (2661886, "Sweden", "EU"),
    "US": (6252001, "United States", "NA"),
}


def country_record(iso_code: str) -> dict[str, Any]:
    """The GeoLite2-Country shaped record stored for one country."""
    geoname_id, name, continent_code = _COUNTRIES[iso_code]
    continent_id, continent_name = _CONTINENTS[continent_code]
    country = {"geoname_id": geoname_id, "iso_code": iso_code, "names": {"en": name}}
    return {
        "continent": {
            "code": continent_code,
            "geoname_id": continent_id,
            "names": {"en": continent_name},
        },
        "country": country,
        "registered_country": dict(country),
    }


def _networks_by_country() -> dict[str, IPSet]:
    by_country: dict[str, IPSet] = {}
    for cidr, iso_code in DEMO_NETWORKS:
        network = IPNetwork(cidr)
        networks = by_country.setdefault(iso_code, IPSet())
        networks.add(network)
        if network.version == 4:
            # GeoLite2 also answers for IPv4-mapped IPv6 (::ffff:a.b.c.d); do the same
            # so a collector that reports mapped addresses still resolves.
            networks.add(network.ipv6(ipv4_compatible=False))
    return by_country


def build_demo_mmdb(path: str | os.PathLike[str]) -> Path:
    """Write the demo GeoLite2-Country database to `path` and return it.

    The file appears atomically (written next to the target, then renamed), so a
    reader never sees a half-written database; parent folders are created.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=DATABASE_TYPE,
        languages=["en"],
        description={"en": "InsightLite demo country database (synthetic, not GeoLite2)"},
    )
    for iso_code, networks in sorted(_networks_by_country().items()):
        writer.insert_network(networks, country_record(iso_code))
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        writer.to_db_file(temp_name)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def ensure_demo_mmdb(path: str | os.PathLike[str]) -> Path:
    """Return `path`, building the demo database there first if it does not exist."""
    target = Path(path)
    if target.is_file():
        return target
    return build_demo_mmdb(target)


_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_PARSED_NETWORKS: Final[tuple[tuple[_IPNetwork, str], ...]] = tuple(
    (ipaddress.ip_network(cidr), iso_code) for cidr, iso_code in DEMO_NETWORKS
)


def country_of(ip: str) -> str | None:
    """ISO country code of `ip` according to DEMO_NETWORKS.

    None when the address is in no listed network or is not an IP address at all.
    IPv4-mapped IPv6 addresses resolve like the IPv4 address they carry.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for network, iso_code in _PARSED_NETWORKS:
        if address.version == network.version and address in network:
            return iso_code
    return None
