"""Where archive files go: a local directory, S3 or fsspec's in-memory filesystem.

The URL is checked when the destination is built, so a typo fails at start-up; the
filesystem object (for S3: credentials, a client, an event loop thread) is created on the
first call that needs it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import posixpath
import re
import tempfile
import threading
from collections.abc import Mapping
from typing import Any, Final

import fsspec

__all__ = ["FsspecDestination", "validate_relative_path"]

# AWS rules for general purpose bucket names: 3-63 characters of lowercase letters,
# digits, dots and hyphens, starting and ending with a letter or digit.
_BUCKET_NAME: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_BUCKET_PREFIXES: Final = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_BUCKET_SUFFIXES: Final = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def validate_relative_path(relative_path: str) -> str:
    """Return ``relative_path`` if it names a file strictly inside the destination.

    Rejects absolute paths, ``.``/``..`` and empty segments, backslashes and control
    characters, so a caller-supplied name can never escape the archive root.
    """
    if not isinstance(relative_path, str) or not relative_path:
        raise ValueError(f"relative path must be a non-empty string, got {relative_path!r}")
    if relative_path.startswith("/") or "://" in relative_path:
        raise ValueError(f"relative path must not be absolute: {relative_path!r}")
    if "\\" in relative_path or any(
        ord(char) < 0x20 or ord(char) == 0x7F for char in relative_path
    ):
        raise ValueError(
            f"relative path must not contain backslashes or control characters: {relative_path!r}"
        )
    for segment in relative_path.split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(
                f"relative path must not contain empty, '.' or '..' segments: {relative_path!r}"
            )
    return relative_path


def _validate_bucket(bucket: str, url: str) -> None:
    problem: str | None = None
    if not _BUCKET_NAME.fullmatch(bucket):
        problem = (
            "must be 3-63 lowercase letters, digits, dots or hyphens, "
            "starting and ending with a letter or digit"
        )
    elif ".." in bucket or ".-" in bucket or "-." in bucket:
        problem = "must not contain '..', '.-' or '-.'"
    elif bucket.startswith(_RESERVED_BUCKET_PREFIXES) or bucket.endswith(_RESERVED_BUCKET_SUFFIXES):
        problem = "uses a prefix or suffix that AWS reserves"
    else:
        with contextlib.suppress(ValueError):
            ipaddress.IPv4Address(bucket)
            problem = "must not be formatted as an IP address"
    if problem is not None:
        raise ValueError(f"invalid S3 bucket name {bucket!r} in {url!r}: {problem}")


class FsspecDestination:
    """A directory on a filesystem that fsspec reaches, addressed by a URL.

    Accepted URLs: a local path (absolute or relative; a relative path is resolved
    against the working directory when the destination is built), ``file:///abs/path``,
    ``s3://bucket[/prefix]`` (through s3fs) and ``memory://name`` (fsspec's in-process
    filesystem, for tests). ``storage_options`` go to the fsspec filesystem unchanged,
    e.g. ``{"client_kwargs": {"endpoint_url": ...}}`` for an S3-compatible store.

    Paths given to the methods are relative to the destination root and use ``/``.
    """

    def __init__(self, url: str, *, storage_options: Mapping[str, Any] | None = None) -> None:
        if not isinstance(url, str) or not url.strip():
            raise ValueError(f"archive URL must be a non-empty string, got {url!r}")
        self.url = url
        self.storage_options: dict[str, Any] = dict(storage_options or {})
        self.protocol, self.root = self._parse(url)
        self._filesystem: Any = None
        self._filesystem_lock = threading.Lock()

    @staticmethod
    def _parse(url: str) -> tuple[str, str]:
        """Return (fsspec protocol, root path as that filesystem spells it)."""
        scheme, separator, rest = url.partition("://")
        if not separator:
            # A plain path. Resolved now so that a later chdir cannot move the archive.
            return "file", os.path.abspath(url)
        scheme = scheme.lower()
        if scheme == "file":
            # file://localhost/path is the long spelling of file:///path.
            if rest.startswith("localhost/"):
                rest = rest[len("localhost") :]
            if not rest:
                raise ValueError(f"archive URL {url!r} has no path")
            return "file", os.path.abspath(rest)
        if scheme == "s3":
            bucket, _, prefix = rest.partition("/")
            _validate_bucket(bucket, url)
            prefix = prefix.strip("/")
            if prefix:
                try:
                    validate_relative_path(prefix)
                except ValueError as error:
                    raise ValueError(f"invalid S3 prefix in {url!r}: {error}") from None
            return "s3", f"{bucket}/{prefix}" if prefix else bucket
        if scheme == "memory":
            name = rest.strip("/")
            if name:
                try:
                    validate_relative_path(name)
                except ValueError as error:
                    raise ValueError(f"invalid memory path in {url!r}: {error}") from None
            return "memory", f"/{name}" if name else ""
        raise ValueError(
            f"unsupported archive URL {url!r}: use a local path, file://, s3:// or memory://"
        )

    @property
    def is_local(self) -> bool:
        return self.protocol == "file"

    @property
    def filesystem(self) -> Any:
        """The fsspec filesystem, created on first use."""
        if self._filesystem is None:
            with self._filesystem_lock:
                if self._filesystem is None:
                    self._filesystem = fsspec.filesystem(self.protocol, **self.storage_options)
        return self._filesystem

    def _full_path(self, relative_path: str) -> str:
        validate_relative_path(relative_path)
        return f"{self._root_with_slash}{relative_path}"

    @property
    def _root_with_slash(self) -> str:
        # A root of "/" (or memory's "") must not turn into "//" when joined.
        return self.root if self.root.endswith("/") else f"{self.root}/"

    def _prefix_path(self, prefix: str) -> str:
        prefix = prefix.strip("/")
        if not prefix:
            return self.root
        return self._full_path(prefix)

    def _display(self, full_path: str) -> str:
        """The address handed back to callers: a local path, or a URL with its scheme."""
        if self.protocol == "file":
            return full_path
        if self.protocol == "memory":
            # The memory filesystem's paths start with "/": give back memory://name/...,
            # the form the destination was built from.
            return f"memory:/{full_path}"
        return f"{self.protocol}://{full_path}"

    def write_bytes(self, relative_path: str, data: bytes) -> str:
        """Write one whole file atomically, replacing any file of the same name.

        Readers see either the old file or the new one, never a part: locally the bytes
        go to a hidden temporary file in the same directory, which is then renamed over
        the target (``os.replace`` is atomic within one filesystem); on S3 a single PUT
        (or a multipart upload, which appears only when completed) is atomic already.
        Returns the path or URL written.
        """
        full_path = self._full_path(relative_path)
        if self.protocol == "file":
            self._write_local(full_path, data)
        else:
            filesystem = self.filesystem
            if self.protocol != "s3":
                # S3 has no directories; makedirs there would create a missing bucket,
                # which is a deployment mistake to surface, not to paper over.
                filesystem.makedirs(posixpath.dirname(full_path), exist_ok=True)
            filesystem.pipe_file(full_path, data)
        return self._display(full_path)

    @staticmethod
    def _write_local(full_path: str, data: bytes) -> None:
        directory, file_name = os.path.split(full_path)
        os.makedirs(directory, exist_ok=True)
        # A leading dot hides the in-flight file from the archive's readers.
        descriptor, temporary_path = tempfile.mkstemp(
            dir=directory, prefix=f".{file_name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "wb") as temporary_file:
                temporary_file.write(data)
                temporary_file.flush()
                # Durable before visible: after a crash the name points at complete data.
                os.fsync(temporary_file.fileno())
            os.chmod(temporary_path, 0o644)
            os.replace(temporary_path, full_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary_path)
            raise

    def exists(self, relative_path: str) -> bool:
        full_path = self._full_path(relative_path)
        if self.protocol == "file":
            return os.path.isfile(full_path)
        return bool(self.filesystem.isfile(full_path))

    def read_bytes(self, relative_path: str) -> bytes:
        """Return a file's bytes; ``FileNotFoundError`` if there is none."""
        full_path = self._full_path(relative_path)
        data: bytes = self.filesystem.cat_file(full_path)
        return data

    def delete(self, relative_path: str) -> bool:
        """Remove one file; False when there was none."""
        full_path = self._full_path(relative_path)
        if self.protocol == "file":
            try:
                os.unlink(full_path)
            except FileNotFoundError:
                return False
            return True
        try:
            self.filesystem.rm_file(full_path)
        except FileNotFoundError:
            return False
        return True

    def list(self, prefix: str = "") -> list[str]:
        """Relative paths of all files under ``prefix`` (recursively), sorted.

        A prefix names a directory (``events/year=2025``), not the start of a file
        name. A missing directory lists as empty.
        """
        prefix = prefix.strip("/")
        base = self._prefix_path(prefix)
        try:
            found = self.filesystem.find(base, detail=False)
        except FileNotFoundError:
            return []
        root_with_slash = self._root_with_slash
        # Only what lies inside the prefix directory: an object store lists by key
        # prefix, where "events" would also match "events-old/...".
        wanted = f"{root_with_slash}{prefix}/" if prefix else root_with_slash
        relative_paths = []
        for path in found:
            path = str(path)
            # fsspec's memory filesystem has reported paths with and without the leading
            # slash across versions; the root is spelled with it.
            if self.protocol == "memory" and not path.startswith("/"):
                path = f"/{path}"
            if path.startswith(wanted):
                relative_paths.append(path[len(root_with_slash) :])
        return sorted(relative_paths)

    def __repr__(self) -> str:
        return f"FsspecDestination({self.url!r})"
