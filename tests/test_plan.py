"""Plans: stable keys and seeds, class-balanced shards, clear errors."""

import pytest

from pipelines.plan import derive_seed, into_shards, plan_procedural, plan_synthetic


def test_seed_of_a_clip_does_not_depend_on_what_else_is_planned():
    small = {t.key: t.seed for t in plan_synthetic(["a", "b", "c"], {"b": 2}, base_seed=7)}
    big = {t.key: t.seed for t in plan_synthetic(["a", "b", "c"], {"a": 3, "b": 5, "c": 1}, base_seed=7)}
    assert all(big[k] == s for k, s in small.items())
    assert derive_seed(7, 1, 0) != derive_seed(8, 1, 0) != derive_seed(7, 1, 1)


def test_labels_follow_the_trained_class_order():
    tasks = plan_synthetic(["a", "b", "c"], {"c": 1, "a": 1}, base_seed=0)
    assert {(t.label_name, t.label) for t in tasks} == {("a", 0), ("c", 2)}


def test_unknown_class_is_named():
    with pytest.raises(ValueError, match="zzz"):
        plan_synthetic(["a", "b"], {"zzz": 1}, base_seed=0)


def test_shards_interleave_classes_and_cover_every_key_once():
    tasks = plan_synthetic(["a", "b"], {"a": 5, "b": 5}, base_seed=0)
    shards = into_shards(tasks, 4)
    assert [len(s.clips) for s in shards] == [4, 4, 2]
    assert {t.label for t in shards[0].clips} == {0, 1}
    keys = [t.key for s in shards for t in s.clips]
    assert sorted(keys) == sorted(t.key for t in tasks) and len(set(keys)) == len(keys)
    assert shards[2].name == "shard-000002.tar"


def test_procedural_split_holds_out_the_tail_of_each_class():
    tasks = plan_procedural(["a", "b"], clips_per_class=8, test_fraction=0.25, base_seed=0)
    for label in (0, 1):
        splits = [t.split for t in tasks if t.label == label]
        assert splits == ["train"] * 6 + ["test"] * 2
    with pytest.raises(ValueError, match="no training clips"):
        plan_procedural(["a"], clips_per_class=1, test_fraction=0.5, base_seed=0)


def test_derive_seed_is_pinned_and_spread():
    # Pinned: a published dataset's seeds must not change with the platform or the code version.
    assert derive_seed(0, 0, 0) == 5392659312917859048
    seeds = {derive_seed(b, c, i) for b in range(3) for c in range(8) for i in range(50)}
    assert len(seeds) == 3 * 8 * 50 and all(0 <= s < 2**63 for s in seeds)
    assert derive_seed(1, 2, 3) != derive_seed(1, 3, 2)
