"""The flow's dead-letter and recording-blob sinks with encryption: the same sinks as
``connectors.flow_sinks``, writing through an archive writer or blob store that holds
the run's cipher."""

from __future__ import annotations

from connectors.archive.replays import ReplayBlobStore
from connectors.archive.writer import ArchiveWriter
from connectors.crypto.cipher import ArchiveCipher
from connectors.flow_sinks import ArchiveSink, ReplayBlobSink
from foundation.metrics import RunTotals


class EncryptedDeadLetterSink(ArchiveSink):
    """Dead-letter JSON lines whose payloads are encrypted (``cipher`` None: in clear)."""

    def __init__(
        self, url: str, *, cipher: ArchiveCipher | None, totals: RunTotals | None = None
    ) -> None:
        super().__init__(url, kind="dead_letter", totals=totals)
        self.writer = ArchiveWriter(url, cipher=cipher)


class EncryptedReplayBlobSink(ReplayBlobSink):
    """Recording blobs stored encrypted (``cipher`` None: in clear)."""

    def __init__(
        self, url: str, *, cipher: ArchiveCipher | None, totals: RunTotals | None = None
    ) -> None:
        super().__init__(url, totals=totals)
        self.store = ReplayBlobStore(url, cipher=cipher)
