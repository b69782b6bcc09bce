"""Duplicate lines and packages: what becomes one Order Fulfillment message."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from feeds.model import Item, Shipment
from feeds.packages import DigestIndex, PackageGrouper

DAY = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)


def line(n: int, **changes: object) -> Shipment:
    base = Shipment(
        line=n,
        order_id="112-1234567-1234567",
        ship_date=DAY,
        order_item_id="11111111111111",
        quantity=1,
        carrier_code="UPS",
        tracking_number="1Z999AA10123456784",
        ship_method="Ground",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_identical_lines_are_collapsed_and_counted_with_the_line_they_repeat() -> None:
    g = PackageGrouper()
    (p,) = g.add([line(2), line(3), line(9)])
    assert p.lines == (2,) and p.items == (Item("11111111111111", 1),)
    assert g.duplicates == 2
    assert g.duplicate_lines == [(3, 2), (9, 2)]


def test_identical_lines_in_later_batches_are_collapsed_too() -> None:
    g = PackageGrouper()
    g.add([line(2)])
    assert g.add([line(5000)]) == []
    assert g.duplicate_lines == [(5000, 2)]


def test_lines_differing_only_in_quantity_are_not_duplicates() -> None:
    g = PackageGrouper()
    (p,) = g.add([line(2, quantity=1), line(3, quantity=2)])
    assert g.duplicates == 0
    assert p.items == (Item("11111111111111", 3),) and p.lines == (2, 3)


def test_same_item_without_quantity_means_all_units_of_it() -> None:
    g = PackageGrouper()
    (p,) = g.add([line(2, quantity=1), line(3, quantity=None)])
    assert p.items == (Item("11111111111111", None),)


def test_item_lines_of_one_package_become_one_package_with_several_items() -> None:
    g = PackageGrouper()
    (p,) = g.add([line(2), line(3, order_item_id="22222222222222", quantity=4)])
    assert p.items == (Item("11111111111111", 1), Item("22222222222222", 4))
    assert p.lines == (2, 3)
    assert (p.order_id, p.carrier_code, p.tracking_number, p.ship_method, p.ship_date) == (
        "112-1234567-1234567",
        "UPS",
        "1Z999AA10123456784",
        "Ground",
        DAY,
    )


def test_lines_of_one_order_with_different_tracking_numbers_are_separate_packages() -> None:
    g = PackageGrouper()
    packages = g.add(
        [line(2), line(3, order_item_id="22222222222222", tracking_number="1Z879E930346834440")]
    )
    assert [p.tracking_number for p in packages] == ["1Z999AA10123456784", "1Z879E930346834440"]
    assert [p.lines for p in packages] == [(2,), (3,)]


def test_different_ship_method_or_ship_date_or_carrier_splits_packages() -> None:
    g = PackageGrouper()
    packages = g.add(
        [
            line(2),
            line(3, order_item_id="22222222222222", ship_method="Express"),
            line(4, order_item_id="33333333333333", ship_date=DAY.replace(hour=16)),
            line(5, order_item_id="44444444444444", carrier_code=None, carrier_name="Speedy"),
        ]
    )
    assert [p.lines for p in packages] == [(2,), (3,), (4,), (5,)]


def test_whole_order_line_is_not_merged_with_item_lines() -> None:
    g = PackageGrouper()
    packages = g.add([line(2), line(3, order_item_id=None, quantity=None)])
    assert [(p.lines, p.items) for p in packages] == [
        ((2,), (Item("11111111111111", 1),)),
        ((3,), ()),
    ]


def test_different_orders_are_different_packages_in_order_of_first_line() -> None:
    g = PackageGrouper()
    packages = g.add(
        [
            line(2, order_id="333-1234567-1234567"),
            line(3),
            line(4, order_id="333-1234567-1234567", order_item_id="22222222222222"),
        ]
    )
    assert [(p.order_id, p.lines) for p in packages] == [
        ("333-1234567-1234567", (2, 4)),
        ("112-1234567-1234567", (3,)),
    ]


def test_lines_of_one_package_in_different_batches_become_separate_packages() -> None:
    g = PackageGrouper()
    (first,) = g.add([line(2)])
    (second,) = g.add([line(3, order_item_id="22222222222222")])
    assert first.items == (Item("11111111111111", 1),)
    assert second.items == (Item("22222222222222", 1),)
    assert g.duplicates == 0


def test_grouper_remembers_only_digests_not_shipments() -> None:
    g = PackageGrouper()
    g.add([line(n, order_item_id=f"{n:014d}") for n in range(2, 1002)])
    assert len(g._seen) == 1000 and not g._seen._runs  # a small file: a dict, no numpy
    g.add([line(n, order_item_id=f"{n:014d}") for n in range(1002, 6002)])
    index = g._seen
    assert isinstance(index, DigestIndex) and len(index) == 6000 and not index._small
    arrays = [a for run in index._runs for a in run]
    assert arrays and all(a.dtype == np.int64 for a in arrays)
    assert sum(a.nbytes for a in arrays) == 16 * 6000  # 16 bytes per distinct line
    assert not [v for v in vars(g).values() if isinstance(v, dict)]  # no per-line dict


def _reference_first_lines(batches: list[list[tuple[int, int]]]) -> list[list[int]]:
    seen: dict[int, int] = {}
    return [[seen.setdefault(d, n) for d, n in batch] for batch in batches]


def test_digest_index_matches_a_dict_across_batches_including_repeats_within_a_batch() -> None:
    rng = random.Random(3)
    batches = []
    line_no = 2
    for size in (0, 1, 7, 500, 3, 2000, 1):
        batch = []
        for _ in range(size):
            batch.append((rng.randrange(-300, 300), line_no))  # small space: many repeats
            line_no += 1
        batches.append(batch)
    index = DigestIndex()
    got = [
        index.first_lines(
            np.array([d for d, _ in b], dtype=np.int64), np.array([n for _, n in b], dtype=np.int64)
        ).tolist()
        for b in batches
    ]
    assert got == _reference_first_lines(batches)
    assert len(index) == len({d for b in batches for d, _ in b})


def test_digest_index_with_small_runs_matches_a_dict_over_many_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Runs merged like a binary counter and capped (at 64 here): every batch still finds
    each digest's first line, whichever run holds it."""
    monkeypatch.setattr(DigestIndex, "_RUN_MAX", 64)
    monkeypatch.setattr(DigestIndex, "_DICT_MAX", 0)
    rng = random.Random(4)
    batches = []
    line_no = 2
    for _ in range(60):
        batch = []
        for _ in range(rng.randrange(0, 40)):
            batch.append((rng.randrange(-600, 600), line_no))
            line_no += 1
        batches.append(batch)
    index = DigestIndex()
    got = [
        index.first_lines(
            np.array([d for d, _ in b], dtype=np.int64), np.array([n for _, n in b], dtype=np.int64)
        ).tolist()
        for b in batches
    ]
    assert got == _reference_first_lines(batches)
    assert len(index) == len({d for b in batches for d, _ in b})
    assert len(index._runs) > 3 and all(len(keys) <= 64 for keys, _ in index._runs)


def test_many_distinct_lines_across_batches_are_never_taken_for_duplicates() -> None:
    g = PackageGrouper()
    n = 0
    for _batch in range(5):
        rows = []
        for _ in range(20_000):
            n += 1
            rows.append(line(n + 1, order_item_id=f"{n:014d}", quantity=n % 3 + 1))
        g.add(rows)
    assert g.duplicates == 0 and g.duplicate_lines == []
    assert len(g._seen) == 100_000


def test_repeats_across_batch_boundaries_name_the_first_line() -> None:
    g = PackageGrouper()
    g.add([line(2, order_item_id="00000000000001"), line(3, order_item_id="00000000000002")])
    g.add([line(4, order_item_id="00000000000003")])
    packages = g.add(
        [
            line(5, order_item_id="00000000000002"),
            line(6, order_item_id="00000000000004"),
            line(7, order_item_id="00000000000003"),
            line(8, order_item_id="00000000000004"),
        ]
    )
    assert g.duplicate_lines == [(5, 3), (7, 4), (8, 6)]
    assert [p.lines for p in packages] == [(6,)]


def test_a_small_index_in_a_dict_answers_as_the_arrays_do_and_hands_over_to_them() -> None:
    """Lists in, lists out while small (no numpy for a small file); past _DICT_MAX the
    dict's digests move into the sorted runs and earlier first lines are still found."""
    rng = random.Random(6)
    batches = []
    line_no = 2
    for size in (5, 300, 4000, 700, 3000):
        batch = []
        for _ in range(size):
            batch.append((rng.randrange(-5000, 5000), line_no))
            line_no += 1
        batches.append(batch)
    index = DigestIndex()
    got = [index.first_lines_of([d for d, _ in b], [n for _, n in b]) for b in batches]
    assert got == _reference_first_lines(batches)
    assert index._runs and not index._small
