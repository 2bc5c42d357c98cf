"""Erasure of a session or a whole site from every store (see ``service``)."""

from connectors.erasure.archive_files import Target, dead_letter_matches
from connectors.erasure.service import ErasureReport, ErasureService, KeyDestroyer, check_target

__all__ = [
    "ErasureReport",
    "ErasureService",
    "KeyDestroyer",
    "Target",
    "check_target",
    "dead_letter_matches",
]
