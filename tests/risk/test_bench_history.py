"""The bench's bulk-written histories equal what DatabaseCountStore.learn leaves in the tables.

bench/risk_assess_bench.py learns long histories in memory and bulk-inserts the counts; its
figures only mean something if those rows are the ones the real learn path would write.
"""

import importlib.util
import random
import sys
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model

from risk.models import GlobalFeatureCount, GlobalLevelStats, UserFeatureCount, UserLoginStats
from risk.store import DatabaseCountStore
from tests.base import TestCase

from .factories import CHROME, IPHONE, SYDNEY, T0, ctx

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load_bench_history():
    spec = importlib.util.spec_from_file_location("bench_risk_history", BENCH / "risk_history.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def _tables():
    return (
        sorted(UserFeatureCount.objects.values_list("user_id", "level", "value_hash", "count", "last_seen")),
        sorted(GlobalFeatureCount.objects.values_list("level", "value_hash", "value", "count")),
        sorted(GlobalLevelStats.objects.values_list("level", "total", "distinct")),
        sorted(
            UserLoginStats.objects.values_list(
                "user_id",
                "n_success",
                "n_with_device",
                "last_success_at",
                "last_latitude",
                "last_longitude",
                "last_accuracy_km",
                "last_country",
            )
        ),
    )


def _clear():
    for model in (UserFeatureCount, GlobalFeatureCount, GlobalLevelStats, UserLoginStats):
        model.objects.all().delete()


class BulkHistoryTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        User = get_user_model()
        cls.users = [User.objects.create_user(email=f"u{i}@example.com", password="x" * 12) for i in range(3)]

    def contexts(self):
        rng = random.Random(7)
        out = []
        for i in range(60):
            uid = rng.choice(self.users).pk
            kwargs = {}
            if rng.random() < 0.2:
                kwargs = {"geo": SYDNEY, "asn": 16509, "ip": f"203.0.113.{rng.randint(1, 9)}"}
            elif rng.random() < 0.2:  # no GeoIP: network level is the /16, no country
                kwargs = {"geo": {}, "asn": None, "ip": f"100.64.{rng.randint(0, 3)}.{rng.randint(1, 9)}"}
            else:
                kwargs = {"ip": f"192.0.2.{rng.randint(1, 6)}"}
            out.append(
                ctx(
                    uid,
                    ua=rng.choice([CHROME, IPHONE, ""]),
                    at=T0 + timedelta(hours=i),
                    device_id=rng.choice([None, "cookie-a", "cookie-b"]),
                    **kwargs,
                )
            )
        return out

    def test_bulk_write_equals_database_learn(self):
        contexts = self.contexts()
        store = DatabaseCountStore()
        for c in contexts:
            store.learn(c)
        learned = _tables()
        _clear()
        bulk = _load_bench_history().BulkHistory()
        for c in contexts:
            bulk.learn(c)
        bulk.write()
        self.assertEqual(_tables(), learned)
        self.assertTrue(all(learned))
