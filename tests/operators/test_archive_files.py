from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from operators.archive_files import ArchiveFiles, dead_letter_offset
from operators.batching import Chunk, Span
from operators.model import AnonymizedEvent


def event(offset: int) -> AnonymizedEvent:
    return AnonymizedEvent(
        f"id-{offset}",
        "s",
        "site",
        0,
        "click",
        "{}",
        "/",
        "",
        "desktop",
        1,
        1,
        1,
        1,
        "",
        "",
        0,
        None,
        None,
        None,
        False,
        offset,
    )


def chunk(first: int, last: int, keep: set[int] | None = None) -> Chunk:
    offsets = [o for o in range(first, last + 1) if keep is None or o in keep]
    return Chunk((Span("raw.p000.s001", first, last),), [event(o) for o in offsets])


def test_a_bucket_is_written_once_the_source_has_passed_it() -> None:
    files = ArchiveFiles(bucket_size=100)
    assert files.add([chunk(0, 49)]) == []
    (partial,) = files.pending()
    assert partial.name == "raw.p000.s001-b000000000000-000000000000" and len(partial.rows) == 50
    assert files.pending() == []  # nothing changed since
    (done,) = files.add([chunk(50, 120)])
    assert done.name == partial.name and [e.offset for e in done.rows] == list(range(100))
    assert [e.offset for e in files.state.buckets[1].events] == list(range(100, 121))


def test_a_run_starting_inside_a_bucket_does_not_overwrite_its_earlier_file() -> None:
    first = ArchiveFiles(bucket_size=100)
    second = ArchiveFiles(bucket_size=100)
    (a,) = first.add([chunk(0, 40)]) or first.pending()
    (b,) = second.add([chunk(41, 60)]) or second.pending()
    assert a.name != b.name


@given(
    st.lists(st.integers(1, 60), min_size=1, max_size=20),
    st.lists(st.integers(1, 60), min_size=1, max_size=20),
    st.integers(0, 19),
)
def test_a_replay_from_a_snapshot_rewrites_the_same_files(
    sizes: list[int], other_sizes: list[int], crash_after: int
) -> None:
    """Whatever the batch boundaries before and after a crash, the final version
    of every file holds each event exactly once, as a run without a crash."""
    kept = {o for o in range(2000) if o % 7}  # some events were filtered out

    def batches(sizes: list[int], start: int, end: int) -> list[Chunk]:
        out, first = [], start
        while first < end:
            last = min(end, first + sizes[len(out) % len(sizes)]) - 1
            out.append(chunk(first, last, kept))
            first = last + 1
        return out

    total = sum(sizes)
    truth = ArchiveFiles(bucket_size=50)
    written: dict[str, list[int]] = {}
    for c in [*truth.add(batches(sizes, 0, total)), *truth.pending()]:
        written[c.name] = [e.offset for e in c.rows]

    import copy

    crashed = ArchiveFiles(bucket_size=50)
    seen: dict[str, list[int]] = {}
    parts = batches(sizes, 0, total)
    snapshot = copy.deepcopy(crashed.state)
    for index, part in enumerate(parts):
        for c in crashed.add([part]):
            seen[c.name] = [e.offset for e in c.rows]
        if index == crash_after % len(parts):
            snapshot = copy.deepcopy(crashed.state)
            resume_from = part.spans[0].last + 1
    # The crash: back to the snapshot, then the rest in other batch sizes.
    resumed = ArchiveFiles(bucket_size=50, state=snapshot)
    for c in resumed.add(batches(other_sizes, resume_from, total)) + resumed.pending():
        seen[c.name] = [e.offset for e in c.rows]
    assert seen == written
    assert Counter(o for offsets in seen.values() for o in offsets) == Counter(
        o for o in range(total) if o in kept
    )


def test_dead_letters_are_bucketed_by_their_source_offset() -> None:
    def letters(first: int, last: int) -> Chunk:
        rows = [{"stage": "validate", "offset": o} for o in range(first, last + 1) if o % 3 == 0]
        return Chunk((Span("raw.p000", first, last),), rows)

    one = ArchiveFiles(bucket_size=10, offset_of=dead_letter_offset)
    names_one = {c.name: c.rows for c in [*one.add([letters(0, 24)]), *one.pending()]}
    # The same input in other batches: the same files with the same rows.
    other = ArchiveFiles(bucket_size=10, offset_of=dead_letter_offset)
    parts = [letters(0, 3), letters(4, 17), letters(18, 24)]
    names_other = {c.name: c.rows for c in [*other.add(parts), *other.pending()]}
    assert names_one == names_other
    assert sorted(names_one) == [
        "raw.p000-b000000000000-000000000000",
        "raw.p000-b000000000010-000000000012",
        "raw.p000-b000000000020-000000000021",
    ]
