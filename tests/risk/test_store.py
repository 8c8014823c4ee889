from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.cache import cache

from risk.model import freeman_score
from risk.models import GlobalFeatureCount, GlobalLevelStats, UserFeatureCount, UserLoginStats
from risk.policy import assess, learn
from risk.store import DatabaseCountStore, MemoryCountStore, value_hash
from tests.base import TestCase

from .factories import IPHONE, SYDNEY, T0, ctx


class StoreParityTests(TestCase):
    """Both stores learn the same history and give the same scores."""

    @classmethod
    def setUpTestData(cls):
        User = get_user_model()
        cls.alice = User.objects.create_user(email="alice@example.com", password="x" * 12)
        cls.bob = User.objects.create_user(email="bob@example.com", password="x" * 12)

    def setUp(self):
        cache.clear()

    def feed(self, store):
        a, b = self.alice.pk, self.bob.pk
        for i in range(8):
            learn(ctx(a, minutes=i * 600, device_id="cookie-a"), store)
        for i in range(3):
            learn(ctx(a, ip="192.0.2.77", ua=IPHONE, minutes=6000 + i * 600), store)
        for i in range(5):
            learn(ctx(b, ip="198.51.100.7", asn=64501, minutes=i * 700), store)

    def probes(self):
        a = self.alice.pk
        return [
            ctx(a, minutes=9000, device_id="cookie-a"),
            ctx(a, ip="192.0.2.200", ua=IPHONE, minutes=9000),
            ctx(a, ip="203.0.113.9", asn=16509, geo=SYDNEY, ua="curl/8.4.0", minutes=9000),
            ctx(self.bob.pk, ip="192.0.2.10", minutes=9000),
        ]

    def test_same_snapshots_and_scores(self):
        memory, database = MemoryCountStore(), DatabaseCountStore()
        self.feed(memory)
        self.feed(database)
        for probe in self.probes():
            m, d = memory.snapshot_for(probe), database.snapshot_for(probe)
            self.assertEqual(m.n_user, d.n_user)
            self.assertEqual(m.n_total, d.n_total)
            self.assertEqual(m.n_users, d.n_users)
            self.assertEqual(m.profile.n_with_device, d.profile.n_with_device)
            self.assertAlmostEqual(freeman_score(probe, m).log_score, freeman_score(probe, d).log_score)
            am, ad = assess(probe, memory), assess(probe, database)
            self.assertAlmostEqual(am.score, ad.score)
            self.assertEqual(am.decision, ad.decision)
            self.assertEqual(am.reason_codes, ad.reason_codes)

    def test_same_snapshot_contents(self):
        """The database snapshot holds exactly the memory store's entries for the probed keys."""
        from risk.model import LEVELS
        from risk.network_type import NETWORK_RETURNING, NETWORK_USERS, network_stat_keys
        from risk.store import learn_keys

        memory, database = MemoryCountStore(), DatabaseCountStore()
        self.feed(memory)
        self.feed(database)
        stranger = get_user_model().objects.create_user(email="eve@example.com", password="x" * 12)
        for probe in [*self.probes(), ctx(stranger.pk, minutes=9000, device_id="cookie-e")]:
            m, d = memory.snapshot(probe.user_id), database.snapshot_for(probe)
            keys, device = learn_keys(probe)
            keys += network_stat_keys(probe.network)
            self.assertEqual(d.user, {k: m.user[k] for k in [*keys, device] if k in m.user})
            self.assertEqual(d.glob, {k: m.glob[k] for k in keys if k in m.glob})
            levels = (*LEVELS, NETWORK_USERS, NETWORK_RETURNING)
            self.assertEqual({lv: d.totals.get(lv) for lv in levels}, {lv: m.totals.get(lv) for lv in levels})
            self.assertEqual({lv: d.distinct.get(lv) for lv in levels}, {lv: m.distinct.get(lv) for lv in levels})
            self.assertEqual((d.n_user, d.n_total, d.n_users), (m.n_user, m.n_total, m.n_users))
            self.assertEqual(d.profile, m.profile)
        self.assertEqual(database.snapshot(self.alice.pk, []).profile, memory.snapshot(self.alice.pk).profile)
        # The network statistics are really there: alice came back to AS64500, bob did not.
        self.assertGreaterEqual(memory.glob[(NETWORK_RETURNING, "AS64500")], 1)
        self.assertGreater(memory.glob[(NETWORK_USERS, "AS64500")], memory.glob.get((NETWORK_RETURNING, "AS16509"), 0))

    def test_scoring_costs_a_constant_number_of_queries(self):
        # One statement (a UNION ALL of the user's counts, the global counts and the login stats).
        database = DatabaseCountStore()
        self.feed(database)
        probe = self.probes()[0]
        database.snapshot_for(probe)  # warm the totals cache
        with self.assertNumQueries(1):
            database.snapshot_for(probe)
        for i in range(20):  # more history does not cost more queries
            learn(ctx(self.alice.pk, minutes=20000 + i), database)
        database.snapshot_for(probe)
        with self.assertNumQueries(1):
            database.snapshot_for(probe)


class DatabaseStoreTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.user = get_user_model().objects.create_user(email="carol@example.com", password="x" * 12)

    def setUp(self):
        cache.clear()

    def test_learning_increments_counts_and_stats(self):
        store = DatabaseCountStore()
        learn(ctx(self.user.pk, device_id="dev-1"), store)
        learn(ctx(self.user.pk, minutes=60, device_id="dev-1"), store)
        stats = UserLoginStats.objects.get(user=self.user)
        self.assertEqual(stats.n_success, 2)
        self.assertEqual(stats.n_with_device, 2)
        self.assertEqual(stats.last_success_at, T0 + timedelta(minutes=60))
        self.assertEqual(stats.last_country, "NO")
        row = UserFeatureCount.objects.get(user=self.user, value_hash=value_hash("cc", "NO"))
        self.assertEqual(row.count, 2)
        self.assertEqual(GlobalFeatureCount.objects.get(level="net").value, "AS64500")

    def test_learning_costs_four_statements_and_counts_new_values_once(self):
        store = DatabaseCountStore()
        # Inside the test's transaction: a savepoint and its release around the four upserts
        # (login stats, the user's counts, the global counts, the level totals).
        with self.assertNumQueries(6):
            learn(ctx(self.user.pk, device_id="dev-1"), store)
        other = get_user_model().objects.create_user(email="dan@example.com", password="x" * 12)
        with self.assertNumQueries(6):
            learn(ctx(other.pk, minutes=5), store)
        levels = {row.level: (row.total, row.distinct) for row in GlobalLevelStats.objects.all()}
        self.assertEqual(levels["__users__logins"], (2, 0))
        self.assertEqual(levels["__users__"], (0, 2), "two users with history")
        self.assertEqual(levels["cc"], (2, 1), "two sign-ins, one distinct country")

    def test_user_rows_hold_digests_not_values(self):
        store = DatabaseCountStore()
        learn(ctx(self.user.pk, ip="192.0.2.55", device_id="secret-cookie"), store)
        stored = list(UserFeatureCount.objects.values_list("value_hash", flat=True))
        self.assertTrue(stored)
        self.assertFalse(any("192.0.2.55" in h or "secret-cookie" in h for h in stored))
        self.assertFalse(GlobalFeatureCount.objects.filter(level="device").exists())


class MemoryStoreTests(TestCase):
    def test_memory_grows_with_distinct_values_not_rows(self):
        store = MemoryCountStore()
        for i in range(50):
            learn(ctx(1, minutes=i), store)
        keys_after_50 = len(store.users[1].counts)
        for i in range(500):
            learn(ctx(1, minutes=100 + i), store)
        self.assertEqual(len(store.users[1].counts), keys_after_50)
        self.assertEqual(store.users[1].profile.n_success, 550)
        self.assertEqual(store.glob[("cc", "NO")], 550)


class PruneTests(TestCase):
    def test_old_values_are_forgotten(self):
        from io import StringIO

        from django.core.management import call_command
        from django.utils import timezone

        user = get_user_model().objects.create_user(email="dan@example.com", password="x" * 12)
        store = DatabaseCountStore()
        old = timezone.now() - timedelta(days=400)
        learn(ctx(user.pk, at=old, ip="192.0.2.1"), store)
        learn(ctx(user.pk, at=timezone.now(), ip="192.0.2.2"), store)
        out = StringIO()
        call_command("risk_prune", "--days", "183", stdout=out)
        self.assertIn("Dropped 1 ", out.getvalue())  # only the old address: the rest was reused
        remaining = set(UserFeatureCount.objects.values_list("value_hash", flat=True))
        self.assertNotIn(value_hash("ip", "192.0.2.1"), remaining)
        self.assertIn(value_hash("ip", "192.0.2.2"), remaining)
        self.assertIn(value_hash("cc", "NO"), remaining)

    def test_days_out_of_range_is_a_clear_error(self):
        from io import StringIO

        from django.core.management import CommandError, call_command

        for days in ("0", "-5", "36501", "100000000"):
            with self.subTest(days=days), self.assertRaisesMessage(CommandError, "--days must be between 1 and 36500"):
                call_command("risk_prune", "--days", days, stdout=StringIO())
        out = StringIO()
        call_command("risk_prune", "--days", "36500", stdout=out)
        self.assertIn("Dropped 0 ", out.getvalue())
