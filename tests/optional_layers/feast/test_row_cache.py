"""Rows kept for their seconds only, all-or-nothing per request, bounded in size."""

from optional_layers.feast.row_cache import RowCache


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rows_are_answered_until_they_expire():
    clock = Clock()
    cache = RowCache(5.0, clock=clock)
    cache.put([1, 2], [[1.0, 2.0], [3.0, 4.0]])
    assert cache.get([2, 1, 2]) == [[3.0, 4.0], [1.0, 2.0], [3.0, 4.0]]
    clock.now += 4.9
    assert cache.get([1]) == [[1.0, 2.0]]
    clock.now += 0.1
    assert cache.get([1]) is None  # expired: the store is read again


def test_one_unknown_id_sends_the_whole_request_to_the_store():
    cache = RowCache(5.0, clock=Clock())
    cache.put([1], [[1.0]])
    assert cache.get([1, 7]) is None


def test_a_full_cache_starts_again_empty():
    cache = RowCache(5.0, max_ids=3, clock=Clock())
    cache.put([1, 2, 3], [[1.0], [2.0], [3.0]])
    cache.put([4], [[4.0]])
    assert cache.get([1]) is None and cache.get([4]) == [[4.0]]


def test_the_setting_turns_the_cache_off_or_sets_its_seconds(monkeypatch):
    from optional_layers.feast.plugin import FeastLayer
    from tests.fakes import fake_settings

    monkeypatch.setenv("FEAST_ONLINE_CACHE_SECONDS", "0")
    assert FeastLayer(fake_settings()).online.cache("off-service", ["x"]) is None
    monkeypatch.setenv("FEAST_ONLINE_CACHE_SECONDS", "2.5")
    layer = FeastLayer(fake_settings())
    assert layer.online.cache("on-service", ["x"]).ttl_s == 2.5
    assert layer.online.cache("on-service", ["x"]) is layer.online.cache("on-service", ["x"])  # one per service
