"""A login-trace simulator writing the RBA data set format (plus Latitude/Longitude).

Legitimate users sign in from home, office and mobile networks, on one to three devices whose
browsers update over time; some buy a new phone, travel abroad, or use a commercial VPN; some
mistype their password. Attackers hold a correct password and come in four kinds (Wiefling et al.,
ACM TOPS 2022):

- naive: credential stuffing from hosting networks or foreign ISPs, many accounts per IP, common
  or scripted user agents; often on blocklists.
- vpn: a VPN/hosting exit in the victim's country, a common browser.
- targeted: knows the victim's city, browser (name and version), OS and device type, and uses a
  residential address in that city from an ISP drawn by market share (so sometimes the victim's
  own ISP by chance).
- very_targeted: the victim's own ISP and city and the exact user-agent string of the victim's
  last sign-in.

With ``SimConfig.rtt`` the ``Round-Trip Time [ms]`` column holds what the sign-in page's script
would measure (:class:`_RoundTrips`): a last-mile latency per user and network plus the path to a
site served from Frankfurt (about 1 ms per 62 km of great-circle distance, fibre at 2/3 of the speed of
light on routes 1.6 times longer), times a jitter. Its draws come from a random generator of
their own, so a trace with round-trip times has exactly the rows of the one without. Scripted
attackers run no script and send none; no attacker forges one.

Attacker successes are labelled ``Is Account Takeover``; an extra ``Attacker Type`` column says
which kind (the replay ignores columns it does not know). Deterministic for a given seed; this is
simulation, not authentication code, so ``random.Random`` is fine.
"""

from __future__ import annotations

import csv
import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TextIO

from risk.evaluation.rba_format import COLUMNS

HEADER = COLUMNS
EXTRA = ("Latitude", "Longitude", "Device ID", "Attacker Type")
ATTACKER_TYPES = ("naive", "vpn", "targeted", "very_targeted")

# country: share of users, cities (name, region, lat, lon), ISPs (asn, market share),
# mobile carriers (asn, share). ASNs are the real operators' numbers where known.
WORLD = {
    "NO": (
        0.35,
        [
            ("Oslo", "Oslo", 59.91, 10.75),
            ("Bergen", "Vestland", 60.39, 5.32),
            ("Trondheim", "Trondelag", 63.43, 10.40),
            ("Stavanger", "Rogaland", 58.97, 5.73),
        ],
        [(2119, 0.35), (29695, 0.25), (12929, 0.15), (41164, 0.10), (39832, 0.15)],
        [(2119, 0.5), (12929, 0.35), (29695, 0.15)],
    ),
    "US": (
        0.20,
        [
            ("New York", "New York", 40.71, -74.01),
            ("Chicago", "Illinois", 41.88, -87.63),
            ("Los Angeles", "California", 34.05, -118.24),
            ("Dallas", "Texas", 32.78, -96.80),
        ],
        [(7922, 0.3), (7018, 0.25), (701, 0.2), (20115, 0.15), (22773, 0.10)],
        [(21928, 0.35), (6167, 0.35), (20057, 0.30)],
    ),
    "DE": (
        0.12,
        [("Berlin", "Berlin", 52.52, 13.40), ("Munich", "Bavaria", 48.14, 11.58), ("Hamburg", "Hamburg", 53.55, 9.99)],
        [(3320, 0.4), (3209, 0.25), (6830, 0.15), (8881, 0.2)],
        [(3320, 0.4), (3209, 0.35), (6805, 0.25)],
    ),
    "GB": (
        0.10,
        [
            ("London", "England", 51.51, -0.13),
            ("Manchester", "England", 53.48, -2.24),
            ("Edinburgh", "Scotland", 55.95, -3.19),
        ],
        [(2856, 0.35), (5089, 0.25), (13285, 0.2), (5607, 0.2)],
        [(12576, 0.4), (25135, 0.3), (206067, 0.3)],
    ),
    "BR": (
        0.08,
        [("Sao Paulo", "Sao Paulo", -23.55, -46.63), ("Rio de Janeiro", "Rio de Janeiro", -22.91, -43.17)],
        [(28573, 0.4), (18881, 0.35), (8167, 0.25)],
        [(26599, 0.5), (28573, 0.5)],
    ),
    "IN": (
        0.07,
        [("Mumbai", "Maharashtra", 19.08, 72.88), ("Delhi", "Delhi", 28.70, 77.10)],
        [(24560, 0.4), (55836, 0.35), (9829, 0.25)],
        [(55836, 0.6), (45609, 0.4)],
    ),
    "AU": (
        0.05,
        [("Sydney", "New South Wales", -33.87, 151.21), ("Melbourne", "Victoria", -37.81, 144.96)],
        [(1221, 0.4), (4804, 0.3), (7545, 0.3)],
        [(1221, 0.6), (133612, 0.4)],
    ),
    "FR": (
        0.03,
        [("Paris", "Ile-de-France", 48.86, 2.35), ("Lyon", "Auvergne-Rhone-Alpes", 45.76, 4.84)],
        [(3215, 0.4), (12322, 0.35), (15557, 0.25)],
        [(3215, 0.5), (51207, 0.5)],
    ),
}
# Hosting / VPN exits: (asn, [(country, city, region, lat, lon)]).
HOSTING = [
    (16509, [("US", "Ashburn", "Virginia", 39.04, -77.49), ("DE", "Frankfurt", "Hesse", 50.11, 8.68)]),
    (14061, [("US", "New York", "New York", 40.71, -74.01), ("GB", "London", "England", 51.51, -0.13)]),
    (16276, [("FR", "Roubaix", "Hauts-de-France", 50.69, 3.17), ("DE", "Frankfurt", "Hesse", 50.11, 8.68)]),
    (24940, [("DE", "Falkenstein", "Saxony", 50.48, 12.37)]),
    (
        9009,
        [
            ("NO", "Oslo", "Oslo", 59.91, 10.75),
            ("US", "Dallas", "Texas", 32.78, -96.80),
            ("GB", "London", "England", 51.51, -0.13),
            ("DE", "Berlin", "Berlin", 52.52, 13.40),
            ("BR", "Sao Paulo", "Sao Paulo", -23.55, -46.63),
            ("AU", "Sydney", "New South Wales", -33.87, 151.21),
            ("IN", "Mumbai", "Maharashtra", 19.08, 72.88),
            ("FR", "Paris", "Ile-de-France", 48.86, 2.35),
        ],
    ),
    (
        60068,
        [
            ("NO", "Oslo", "Oslo", 59.91, 10.75),
            ("US", "Chicago", "Illinois", 41.88, -87.63),
            ("GB", "Manchester", "England", 53.48, -2.24),
            ("DE", "Munich", "Bavaria", 48.14, 11.58),
        ],
    ),
    (20473, [("US", "Los Angeles", "California", 34.05, -118.24), ("AU", "Melbourne", "Victoria", -37.81, 144.96)]),
]
SCRIPTED_UAS = (
    "python-requests/2.31.0",
    "curl/8.4.0",
    "Go-http-client/1.1",
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/119.0.0.0 Safari/537.36"),
)
START = datetime(2024, 1, 1, tzinfo=UTC)


def pick_weighted(rng: random.Random, weighted):
    r = rng.random() * sum(w for _, w in weighted)
    for item, w in weighted:
        r -= w
        if r <= 0:
            return item
    return weighted[-1][0]


class _Net:
    """Address pools: each (ASN, country) gets its own /16 of public-looking space."""

    def __init__(self) -> None:
        self.prefixes: dict = {}

    def prefix(self, asn: int, cc: str) -> tuple[int, int]:
        key = (asn, cc)
        if key not in self.prefixes:
            n = len(self.prefixes)
            self.prefixes[key] = (11 + n // 200, n % 200 + 20)
        return self.prefixes[key]

    def address(self, rng: random.Random, asn: int, cc: str, pool: int | None = None) -> str:
        a, b = self.prefix(asn, cc)
        if pool is not None:  # a small shared pool (carrier-grade NAT, VPN exits)
            k = rng.randrange(pool)
            return f"{a}.{b}.{k // 250}.{k % 250 + 1}"
        return f"{a}.{b}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


# Browser kinds: (device type, builder(version_offset_days) -> (ua, browser, os)).
def _chrome_major(day: int, lag: int) -> int:
    return 120 + max(0, day - lag) // 30


def _ua(kind: str, day: int, lag: int, model: str = "") -> tuple[str, str, str, str]:
    v = _chrome_major(day, lag)
    ios = 17 + max(0, day - lag) // 120
    if kind == "win_chrome":
        return (
            (
                f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{v}.0.0.0 Safari/537.36"
            ),
            f"Chrome {v}.0.0",
            "Windows 10",
            "desktop",
        )
    if kind == "win_edge":
        return (
            (
                f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0"
            ),
            f"Edge {v}.0.0",
            "Windows 10",
            "desktop",
        )
    if kind == "win_firefox":
        f = v + 1
        return (
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{f}.0) Gecko/20100101 Firefox/{f}.0",
            f"Firefox {f}.0",
            "Windows 10",
            "desktop",
        )
    if kind == "linux_firefox":
        f = v + 1
        return (
            f"Mozilla/5.0 (X11; Linux x86_64; rv:{f}.0) Gecko/20100101 Firefox/{f}.0",
            f"Firefox {f}.0",
            "Linux",
            "desktop",
        )
    if kind == "mac_safari":
        return (
            (
                f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
                f"Gecko) Version/{ios}.2 Safari/605.1.15"
            ),
            f"Safari {ios}.2",
            "Mac OS X 10.15",
            "desktop",
        )
    if kind == "mac_chrome":
        return (
            (
                f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
                f"Gecko) Chrome/{v}.0.0.0 Safari/537.36"
            ),
            f"Chrome {v}.0.0",
            "Mac OS X 10.15",
            "desktop",
        )
    if kind == "iphone":
        return (
            (
                f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios}_2 like Mac OS X) AppleWebKit/605.1.15 "
                f"(KHTML, like Gecko) Version/{ios}.2 Mobile/15E148 Safari/604.1"
            ),
            f"Mobile Safari {ios}.2",
            f"iOS {ios}.2",
            "mobile",
        )
    if kind == "android_chrome":
        return (
            (
                f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{v}.0.0.0 Mobile Safari/537.36"
            ),
            f"Chrome Mobile {v}.0.0",
            "Android 10",
            "mobile",
        )
    if kind == "android_samsung":
        s = 23 + max(0, day - lag) // 90
        return (
            (
                f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"SamsungBrowser/{s}.0 Chrome/{v - 5}.0.0.0 Mobile Safari/537.36"
            ),
            f"Samsung Internet {s}.0",
            "Android 10",
            "mobile",
        )
    if kind == "ipad":
        return (
            (
                f"Mozilla/5.0 (iPad; CPU OS {ios}_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                f"Gecko) Version/{ios}.2 Mobile/15E148 Safari/604.1"
            ),
            f"Mobile Safari {ios}.2",
            f"iOS {ios}.2",
            "tablet",
        )
    raise ValueError(kind)


DESKTOP_KINDS = [
    ("win_chrome", 0.4),
    ("win_edge", 0.15),
    ("win_firefox", 0.1),
    ("mac_safari", 0.15),
    ("mac_chrome", 0.12),
    ("linux_firefox", 0.08),
]
PHONE_KINDS = [("iphone", 0.5), ("android_chrome", 0.35), ("android_samsung", 0.15)]


@dataclass
class _Device:
    kind: str
    lag: int  # days this user lags behind browser releases
    device_id: str


@dataclass
class _User:
    uid: int
    cc: str
    city: tuple
    home_asn: int
    home_ip: str
    mobile_asn: int
    office: tuple | None  # (asn, ip)
    devices: list
    rate: float  # sign-ins per day
    vpn: tuple | None  # (asn, exit) for VPN users
    vpn_share: float
    trips: list = field(default_factory=list)  # (start_day, end_day, cc, city, asn)
    logins: int = 0
    last: tuple | None = None  # last successful row's (ua, browser, os, device) for copying


@dataclass
class SimConfig:
    """Size and mix of a simulated trace."""

    users: int = 2000
    days: int = 180
    seed: int = 1
    mean_logins_per_day: float = 0.55
    attacks_per_day: float = 8.0  # successful takeover attempts per day, after the warm-up
    warmup_days: int = 30
    attack_mix: tuple = (("naive", 0.4), ("vpn", 0.2), ("targeted", 0.25), ("very_targeted", 0.15))
    typo_rate: float = 0.04
    cookie_loss: float = 0.04  # share of legitimate sign-ins without the usual device cookie
    coordinates: bool = True
    rtt: bool = False  # fill the Round-Trip Time [ms] column


# The simulated site's servers (Frankfurt), the far end of every round trip.
SERVER = (50.11, 8.68)
# Round trip per km of great-circle distance: there and back (2x), routes 1.6x longer than the
# great circle, light in fibre at about 200 km per ms.
RTT_MS_PER_KM = 2 * 1.6 / 200
# Last-mile latency of a network, as (median ms, spread of its lognormal).
ACCESS_MS = {"home": (12.0, 0.45), "office": (6.0, 0.4), "mobile": (40.0, 0.3), "other": (18.0, 0.5)}


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


class _RoundTrips:
    """Round-trip times the sign-in page would measure (the median of its timed requests)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"round-trip-{seed}")
        self.access: dict = {}  # (user, network kind) -> that line's last-mile latency

    def line(self, kind: str, owner=None) -> float:
        """Return the last-mile latency of a network of ``kind``: stable per owner, fresh without one."""
        if owner is not None and (owner, kind) in self.access:
            return self.access[owner, kind]
        if kind == "hosting":
            value = self.rng.uniform(0.5, 2.0)
        else:
            median, spread = ACCESS_MS[kind]
            value = median * self.rng.lognormvariate(0, spread)
        if owner is not None:
            self.access[owner, kind] = value
        return value

    def measure(self, access_ms: float, *places: tuple, mobile: bool = False) -> str:
        """Return the measured time (text, one decimal) through ``places`` (lat, lon) to the site."""
        hops = [*places, SERVER]
        path = sum(_km(a, b) for a, b in itertools.pairwise(hops)) * RTT_MS_PER_KM
        jitter = self.rng.lognormvariate(0, 0.25 if mobile else 0.08)
        return f"{(access_ms + path) * jitter + 1.0:.1f}"


def _place(city: tuple) -> tuple[float, float]:
    """Return (lat, lon) of a (name, region, lat, lon) city."""
    return city[2], city[3]


class Simulator:
    """Generate rows day by day (memory holds users, not rows)."""

    def __init__(self, config: SimConfig) -> None:
        self.cfg = config
        self.rng = random.Random(config.seed)
        self.net = _Net()
        self.rtts = _RoundTrips(config.seed) if config.rtt else None
        self.users = [self._make_user(i) for i in range(config.users)]
        self.index = 0

    def _make_user(self, i: int) -> _User:
        rng = self.rng
        cc = pick_weighted(rng, [(c, w[0]) for c, w in WORLD.items()])
        _, cities, isps, mobiles = WORLD[cc]
        home_asn = pick_weighted(rng, isps)
        devices = []
        if rng.random() < 0.75:
            devices.append(_Device(pick_weighted(rng, DESKTOP_KINDS), rng.randrange(0, 40), f"d{i}-0"))
        if rng.random() < 0.8 or not devices:
            devices.append(_Device(pick_weighted(rng, PHONE_KINDS), rng.randrange(0, 40), f"d{i}-1"))
        if rng.random() < 0.12:
            devices.append(_Device("ipad", rng.randrange(0, 60), f"d{i}-2"))
        office = None
        if rng.random() < 0.45:
            oasn = pick_weighted(rng, isps)
            office = (oasn, self.net.address(rng, oasn, cc))
        vpn = None
        if rng.random() < 0.08:
            asn, exits = rng.choice([h for h in HOSTING if h[0] in (9009, 60068)])
            local = [e for e in exits if e[0] == cc]
            vpn = (asn, local[0] if local and rng.random() < 0.7 else rng.choice(exits))
        user = _User(
            uid=rng.randrange(-(2**62), 2**62),
            cc=cc,
            city=rng.choice(cities),
            home_asn=home_asn,
            home_ip=self.net.address(rng, home_asn, cc),
            mobile_asn=pick_weighted(rng, mobiles),
            office=office,
            devices=devices,
            rate=self.cfg.mean_logins_per_day * rng.lognormvariate(0, 0.8) / 1.377,
            vpn=vpn,
            vpn_share=rng.uniform(0.1, 0.5) if vpn else 0.0,
        )
        if rng.random() < 0.35:
            for _ in range(rng.randint(1, 2)):
                start = rng.randrange(self.cfg.days)
                dcc = rng.choice([c for c in WORLD if c != cc]) if rng.random() < 0.6 else cc
                dcities, disps = WORLD[dcc][1], WORLD[dcc][2]
                end = start + rng.randint(3, 14)
                user.trips.append((start, end, dcc, rng.choice(dcities), pick_weighted(rng, disps)))
        return user

    # --- rows --------------------------------------------------------------------------------
    def _row(self, ts, uid, ip, cc, city, asn, ua, success, attack_ip, ato, attacker="", device_id="", rtt=""):
        name, region, lat, lon = city
        jitter = self.rng
        row = [
            0,
            ts.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            uid,
            rtt,
            ip,
            cc,
            region or "-",
            name or "-",
            asn,
            ua[0],
            ua[1],
            ua[2],
            ua[3],
            success,
            attack_ip,
            ato,
        ]
        if self.cfg.coordinates:
            row += [
                f"{lat + jitter.uniform(-0.05, 0.05):.4f}",
                f"{lon + jitter.uniform(-0.05, 0.05):.4f}",
                device_id,
                attacker,
            ]
        else:
            row += [device_id, attacker]
        return ts, row

    def _legit_rows(self, user: _User, day: int, ts: datetime) -> list:
        rng = self.rng
        # Life events: a new phone now and then; occasional dynamic home-address change.
        if rng.random() < 0.002:
            phone = [d for d in user.devices if d.kind in dict(PHONE_KINDS)]
            new = _Device(pick_weighted(rng, PHONE_KINDS), rng.randrange(0, 20), f"d{user.uid}-{rng.randrange(10**6)}")
            if phone:
                user.devices[user.devices.index(phone[0])] = new
            else:
                user.devices.append(new)
        if rng.random() < 0.01:
            user.home_ip = self.net.address(rng, user.home_asn, user.cc)
        device = rng.choice(user.devices)
        mobile_dev = device.kind in dict(PHONE_KINDS)
        trip = next((t for t in user.trips if t[0] <= day <= t[1]), None)
        cc, city = user.cc, user.city
        # Where the round trip goes: (network kind, whose line, places from the user on).
        home = _place(user.city)
        if trip is not None:
            _, _, tcc, tcity, tasn = trip
            if mobile_dev and rng.random() < 0.5:  # roaming: traffic leaves via the home carrier
                asn, ip = user.mobile_asn, self.net.address(rng, user.mobile_asn, user.cc, 400)
                path = ("mobile", user.uid, (_place(tcity), home))
            else:  # hotel or cafe network at the destination
                asn, ip, cc, city = tasn, self.net.address(rng, tasn, tcc), tcc, tcity
                path = ("other", None, (_place(tcity),))
        elif user.vpn and rng.random() < user.vpn_share:
            asn, (cc, cname, region, lat, lon) = user.vpn
            city = (cname, region, lat, lon)
            ip = self.net.address(rng, asn, cc, 50)
            path = ("home", user.uid, (home, (lat, lon)))
        elif mobile_dev and rng.random() < 0.45:
            asn, ip = user.mobile_asn, self.net.address(rng, user.mobile_asn, user.cc, 400)
            path = ("mobile", user.uid, (home,))
        elif user.office and not mobile_dev and 8 <= ts.hour <= 17 and ts.weekday() < 5 and rng.random() < 0.7:
            asn, ip = user.office
            path = ("office", user.uid, (home,))
        elif rng.random() < 0.03:  # a friend's, a cafe's or a library's network
            asn = pick_weighted(rng, WORLD[user.cc][2])
            ip = self.net.address(rng, asn, user.cc)
            path = ("other", None, (home,))
        else:
            asn, ip = user.home_asn, user.home_ip
            path = ("home", user.uid, (home,))
        rtt = ""
        if self.rtts is not None:
            kind, owner, places = path
            rtt = self.rtts.measure(self.rtts.line(kind, owner), *places, mobile=kind == "mobile")
        ua = _ua(device.kind, day, device.lag)
        # Cookies get cleared and private windows have none: a fresh id now and then.
        device_id = device.device_id if rng.random() >= self.cfg.cookie_loss else f"c{rng.getrandbits(48):x}"
        rows = []
        if rng.random() < self.cfg.typo_rate:
            rows.append(
                self._row(
                    ts - timedelta(seconds=rng.randint(3, 40)),
                    user.uid,
                    ip,
                    cc,
                    city,
                    asn,
                    ua,
                    False,
                    False,
                    False,
                    "",
                    device_id,
                    rtt,
                )
            )
        attack_ip = rng.random() < (0.05 if asn in (9009, 60068) else 0.002)
        rows.append(self._row(ts, user.uid, ip, cc, city, asn, ua, True, attack_ip, False, "", device_id, rtt))
        user.last = ua
        user.logins += 1
        return rows

    def _attack_rows(self, kind: str, ts: datetime, day: int) -> list:
        rng = self.rng
        victims = [u for u in self.users if u.logins >= 1]
        if not victims:
            return []
        victim = rng.choice(victims)
        rows = []
        if kind == "naive":
            if rng.random() < 0.6:
                asn, exits = rng.choice(HOSTING)
                cc, cname, region, lat, lon = rng.choice(exits)
                city = (cname, region, lat, lon)
                path = ("hosting", (lat, lon))
            else:
                cc = rng.choice(list(WORLD))
                asn = pick_weighted(rng, WORLD[cc][2])
                city = rng.choice(WORLD[cc][1])
                path = ("other", _place(city))
            ip = self.net.address(rng, asn, cc)
            if rng.random() < 0.35:
                ua = (rng.choice(SCRIPTED_UAS), "", "", "")
            else:
                ua = _ua(
                    rng.choice(["win_chrome", "win_chrome", "mac_safari", "android_chrome"]), day, rng.randrange(0, 120)
                )
            attack_ip = rng.random() < 0.4
            rtt = self._attack_rtt(path, ua)
            # Credential stuffing: the same address fails against other accounts first.
            for k in range(rng.randint(3, 25)):
                other = rng.choice(self.users)
                rows.append(
                    self._row(
                        ts - timedelta(seconds=5 * (k + 1)),
                        other.uid,
                        ip,
                        cc,
                        city,
                        asn,
                        ua,
                        False,
                        attack_ip,
                        False,
                        kind,
                        "",
                        rtt,
                    )
                )
        elif kind == "vpn":
            options = [(asn, e) for asn, exits in HOSTING for e in exits if e[0] == victim.cc]
            if options:
                asn, (cc, cname, region, lat, lon) = rng.choice(options)
                city = (cname, region, lat, lon)
            else:
                asn, (cc, cname, region, lat, lon) = 9009, ("NO", "Oslo", "Oslo", 59.91, 10.75)
                city = (cname, region, lat, lon)
            ip = self.net.address(rng, asn, cc, 50)
            ua = _ua(rng.choice(["win_chrome", "mac_safari", "iphone", "android_chrome"]), day, rng.randrange(0, 60))
            attack_ip = rng.random() < 0.2
            # The attacker sits anywhere and tunnels to the exit in the victim's country.
            where = self.rtts.rng.choice(WORLD[self.rtts.rng.choice(list(WORLD))][1]) if self.rtts else city
            path = ("other", _place(where), _place(city))
        elif kind == "targeted":
            cc, city = victim.cc, victim.city
            device = max(victim.devices, key=lambda d: d.kind in dict(PHONE_KINDS))
            device = rng.choice(victim.devices) if rng.random() < 0.5 else device
            mobile = device.kind in dict(PHONE_KINDS) and rng.random() < 0.4
            asn = pick_weighted(rng, WORLD[cc][3] if mobile else WORLD[cc][2])
            ip = self.net.address(rng, asn, cc, 400 if mobile else None)
            ua = _ua(device.kind, day, device.lag)
            attack_ip = rng.random() < 0.05
            path = ("mobile" if mobile else "home", _place(city))
        else:  # very targeted
            cc, city = victim.cc, victim.city
            asn = victim.home_asn
            ip = self.net.address(rng, asn, cc)
            ua = victim.last or _ua("win_chrome", day, 0)
            attack_ip = False
            path = ("home", _place(city))
        # The attacker has the password, not the victim's device cookie.
        device_id = "" if ua[0] in SCRIPTED_UAS else f"c{rng.getrandbits(48):x}"
        if kind != "naive":
            rtt = self._attack_rtt(path, ua)
        for k in range(rng.randint(0, 2) if kind != "naive" else 0):
            rows.append(
                self._row(
                    ts - timedelta(seconds=20 * (k + 1)),
                    victim.uid,
                    ip,
                    cc,
                    city,
                    asn,
                    ua,
                    False,
                    attack_ip,
                    False,
                    kind,
                    device_id,
                    rtt,
                )
            )
        rows.append(self._row(ts, victim.uid, ip, cc, city, asn, ua, True, attack_ip, True, kind, device_id, rtt))
        return rows

    def _attack_rtt(self, path: tuple, ua: tuple) -> str:
        """Return the round trip an attacker's browser measures on ``path`` (kind, places...)."""
        if self.rtts is None or ua[0] in SCRIPTED_UAS:  # a script runs no page script
            return ""
        return self.rtts.measure(self.rtts.line(path[0]), *path[1:], mobile=path[0] == "mobile")

    def days(self):
        """Yield each day's rows, sorted by time."""
        rng, cfg = self.rng, self.cfg
        for day in range(cfg.days):
            base = START + timedelta(days=day)
            events = []
            for user in self.users:
                n = poisson(rng, user.rate)
                for _ in range(n):
                    hour = min(23.99, max(0.0, rng.gauss(14, 4.5)))
                    ts = base + timedelta(hours=hour, seconds=rng.random() * 60)
                    events.extend(self._legit_rows(user, day, ts))
            if day >= cfg.warmup_days:
                for _ in range(poisson(rng, cfg.attacks_per_day)):
                    ts = base + timedelta(seconds=rng.randrange(86400))
                    events.extend(self._attack_rows(pick_weighted(rng, list(cfg.attack_mix)), ts, day))
            events.sort(key=lambda e: e[0])
            yield [row for _, row in events]

    def write(self, out: TextIO, max_rows: int | None = None) -> int:
        """Write the trace as CSV; return the number of rows."""
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER + (EXTRA if self.cfg.coordinates else EXTRA[2:]))
        n = 0
        for rows in self.days():
            for row in rows:
                if max_rows is not None and n >= max_rows:
                    return n
                row[0] = n
                writer.writerow(row)
                n += 1
        return n


def poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method; lam is small (sign-ins per user per day, attacks per day).
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, lam**0.5)))
    import math

    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def simulate(out: TextIO, config: SimConfig | None = None, max_rows: int | None = None) -> int:
    """Write a simulated trace to ``out``; return the number of rows."""
    return Simulator(config or SimConfig()).write(out, max_rows=max_rows)
