"""A second, independently parameterised login-trace generator (RBA data set format).

It exists to test whether the engine generalises: its world differs from
:mod:`risk.evaluation.simulate` on the points where an engine tuned on one world tends to fail.

- Other countries and market shares, with larger ISPs and more of them.
- Mobile carriers hand out addresses from many prefixes (carrier-grade NAT pools that rotate), so
  a phone's address changes at almost every sign-in and often its /16 too.
- Hosting and VPN space is a long list: 600 hosting networks (regional clouds, colocation, VPN
  providers) whose numbers are drawn per seed, almost none of them on any hand-written list.
- More VPN users (18%), who use one of a dozen consumer VPN providers among those networks.
- More travel (55% of users, up to four trips), with hotel, airport and roaming networks.
- Attackers: naive (credential stuffing from hosting networks or foreign ISPs), VPN (a hosting
  exit in the victim's country, drawn from the long list), targeted (a residential proxy: an
  address of a consumer ISP in the victim's city, with the victim's browser, OS and device type),
  very targeted (the victim's own ISP and the exact user-agent string of their last sign-in).

The output has the RBA columns plus ``Latitude``, ``Longitude``, ``Device ID`` and ``Attacker
Type`` (the replay ignores columns it does not know). Deterministic for a seed; simulation only,
so ``random.Random`` is fine.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TextIO

from risk.evaluation.rba_format import COLUMNS
from risk.evaluation.simulate import pick_weighted, poisson

EXTRA = ("Latitude", "Longitude", "Device ID", "Attacker Type")
ATTACKER_TYPES = ("naive", "vpn", "targeted", "very_targeted")

# country: (share of users, cities (name, region, lat, lon), ISPs [(asn, share)], carriers [(asn, share)])
# Consumer ISPs and carriers carry ordinary public AS numbers; hosting networks are drawn per seed.
COUNTRIES = {
    "SE": (
        0.14,
        [("Stockholm", "Stockholm", 59.33, 18.07), ("Gothenburg", "Vastra Gotaland", 57.71, 11.97)],
        [(3301, 0.3), (1257, 0.25), (2603, 0.2), (8473, 0.15), (29518, 0.1)],
        [(3301, 0.4), (1257, 0.3), (44034, 0.3)],
    ),
    "ES": (
        0.16,
        [
            ("Madrid", "Madrid", 40.42, -3.70),
            ("Barcelona", "Catalonia", 41.39, 2.17),
            ("Valencia", "Valencia", 39.47, -0.38),
        ],
        [(3352, 0.35), (12479, 0.25), (12430, 0.2), (15704, 0.2)],
        [(3352, 0.4), (12479, 0.3), (12430, 0.3)],
    ),
    "JP": (
        0.12,
        [("Tokyo", "Tokyo", 35.68, 139.69), ("Osaka", "Osaka", 34.69, 135.50)],
        [(4713, 0.35), (2516, 0.3), (17676, 0.25), (2527, 0.1)],
        [(9605, 0.45), (2516, 0.3), (17676, 0.25)],
    ),
    "CA": (
        0.14,
        [
            ("Toronto", "Ontario", 43.65, -79.38),
            ("Montreal", "Quebec", 45.50, -73.57),
            ("Vancouver", "British Columbia", 49.28, -123.12),
        ],
        [(812, 0.3), (577, 0.3), (6327, 0.2), (5769, 0.2)],
        [(812, 0.35), (577, 0.35), (852, 0.3)],
    ),
    "MX": (
        0.10,
        [("Mexico City", "CDMX", 19.43, -99.13), ("Guadalajara", "Jalisco", 20.66, -103.35)],
        [(8151, 0.5), (28548, 0.3), (13999, 0.2)],
        [(28403, 0.6), (32098, 0.4)],
    ),
    "PL": (
        0.10,
        [("Warsaw", "Mazovia", 52.23, 21.01), ("Krakow", "Lesser Poland", 50.06, 19.94)],
        [(5617, 0.35), (6714, 0.25), (12741, 0.2), (29314, 0.2)],
        [(12912, 0.4), (5617, 0.3), (8374, 0.3)],
    ),
    "NL": (
        0.09,
        [("Amsterdam", "North Holland", 52.37, 4.90), ("Rotterdam", "South Holland", 51.92, 4.48)],
        [(1136, 0.35), (33915, 0.35), (50266, 0.3)],
        [(1136, 0.4), (20857, 0.3), (31615, 0.3)],
    ),
    "ZA": (
        0.07,
        [("Johannesburg", "Gauteng", -26.20, 28.05), ("Cape Town", "Western Cape", -33.92, 18.42)],
        [(37457, 0.4), (3741, 0.35), (37105, 0.25)],
        [(29975, 0.5), (36994, 0.5)],
    ),
    "KR": (
        0.08,
        [("Seoul", "Seoul", 37.57, 126.98), ("Busan", "Busan", 35.18, 129.08)],
        [(4766, 0.45), (9318, 0.3), (3786, 0.25)],
        [(4766, 0.4), (9644, 0.3), (17858, 0.3)],
    ),
}
HOSTING_NETWORKS = 600
CONSUMER_VPNS = 12
START = datetime(2025, 3, 1, tzinfo=UTC)

# Browser families of this world, with a release cadence (days per major version) of their own.
BROWSERS = {
    "win_chrome": ("desktop", 28),
    "win_firefox": ("desktop", 30),
    "win_opera": ("desktop", 35),
    "mac_safari": ("desktop", 180),
    "mac_firefox": ("desktop", 30),
    "linux_chrome": ("desktop", 28),
    "iphone": ("mobile", 150),
    "android_chrome": ("mobile", 28),
    "android_firefox": ("mobile", 30),
    "ipad": ("tablet", 150),
}
DESKTOPS = [
    ("win_chrome", 0.45),
    ("win_firefox", 0.12),
    ("win_opera", 0.05),
    ("mac_safari", 0.18),
    ("mac_firefox", 0.05),
    ("linux_chrome", 0.15),
]
PHONES = [("iphone", 0.45), ("android_chrome", 0.45), ("android_firefox", 0.10)]
SCRIPTS = (
    "python-httpx/0.27.0",
    "okhttp/4.12.0",
    "Wget/1.21.4",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
)


_BLINK = "AppleWebKit/537.36 (KHTML, like Gecko)"
_WEBKIT = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
_WIN, _MAC = "Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10_15_7"
_MOBILE_SAFARI = "Mobile/15E148 Safari/604.1"
# kind -> (UA template, browser template, OS template); {c} Chrome-like, {f} Firefox, {i} iOS major.
_TEMPLATES = {
    "win_chrome": (f"Mozilla/5.0 ({_WIN}) {_BLINK} Chrome/{{c}}.0.0.0 Safari/537.36", "Chrome {c}.0.0", "Windows 10"),
    "win_firefox": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{f}.0) Gecko/20100101 Firefox/{f}.0",
        "Firefox {f}.0",
        "Windows 10",
    ),
    "win_opera": (
        f"Mozilla/5.0 ({_WIN}) {_BLINK} Chrome/{{c}}.0.0.0 Safari/537.36 OPR/{{o}}.0.0.0",
        "Opera {o}.0.0",
        "Windows 10",
    ),
    "mac_safari": (f"Mozilla/5.0 ({_MAC}) {_WEBKIT} Version/{{i}}.1 Safari/605.1.15", "Safari {i}.1", "Mac OS X 10.15"),
    "mac_firefox": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{f}.0) Gecko/20100101 Firefox/{f}.0",
        "Firefox {f}.0",
        "Mac OS X 10.15",
    ),
    "linux_chrome": (
        f"Mozilla/5.0 (X11; Linux x86_64) {_BLINK} Chrome/{{c}}.0.0.0 Safari/537.36",
        "Chrome {c}.0.0",
        "Linux",
    ),
    "iphone": (
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {{i}}_1 like Mac OS X) {_WEBKIT} Version/{{i}}.1 {_MOBILE_SAFARI}",
        "Mobile Safari {i}.1",
        "iOS {i}.1",
    ),
    "android_chrome": (
        f"Mozilla/5.0 (Linux; Android 14; K) {_BLINK} Chrome/{{c}}.0.0.0 Mobile Safari/537.36",
        "Chrome Mobile {c}.0.0",
        "Android 14",
    ),
    "android_firefox": (
        "Mozilla/5.0 (Android 14; Mobile; rv:{f}.0) Gecko/{f}.0 Firefox/{f}.0",
        "Firefox Mobile {f}.0",
        "Android 14",
    ),
    "ipad": (
        f"Mozilla/5.0 (iPad; CPU OS {{i}}_1 like Mac OS X) {_WEBKIT} Version/{{i}}.1 {_MOBILE_SAFARI}",
        "Mobile Safari {i}.1",
        "iOS {i}.1",
    ),
}


def user_agent(kind: str, day: int, lag: int) -> tuple[str, str, str, str]:
    """Return (UA string, browser, OS, device type) of a browser ``kind`` on ``day``, ``lag`` days behind."""
    device, cadence = BROWSERS[kind]
    step = max(0, day - lag) // cadence
    versions = {"c": 130 + step, "f": 133 + step, "i": 18 + step, "o": 115 + step}
    ua, browser, os_ = _TEMPLATES[kind]
    return ua.format(**versions), browser.format(**versions), os_.format(**versions), device


@dataclass
class World2Config:
    """Size and mix of a trace of the second world."""

    users: int = 2000
    days: int = 180
    seed: int = 1
    mean_logins_per_day: float = 0.5
    attacks_per_day: float = 8.0
    warmup_days: int = 30
    attack_mix: tuple = (("naive", 0.3), ("vpn", 0.25), ("targeted", 0.3), ("very_targeted", 0.15))
    vpn_users: float = 0.18
    travellers: float = 0.55
    typo_rate: float = 0.05
    cookie_loss: float = 0.06


@dataclass
class _Person:
    uid: int
    cc: str
    city: tuple
    isp: int
    home_ip: str
    carrier: int
    work: tuple | None
    devices: list  # [kind, lag, device id]
    rate: float
    vpn: tuple | None  # (asn, exit country, exit city)
    vpn_share: float
    trips: list = field(default_factory=list)  # (first day, last day, cc, city, hotel asn)
    last_ua: tuple | None = None
    logins: int = 0


class World2:
    """Generate the trace day by day; memory holds the people, not the rows."""

    def __init__(self, config: World2Config) -> None:
        self.cfg = config
        self.rng = random.Random(config.seed * 7919 + 17)
        self.prefixes: dict = {}
        self.hosting = self._hosting_networks()
        self.vpn_providers = self.hosting[:CONSUMER_VPNS]
        self.people = [self._person(i) for i in range(config.users)]

    # --- world ---------------------------------------------------------------------------------
    def _hosting_networks(self) -> list[tuple[int, list]]:
        """Draw the long list of hosting networks: (asn, exits [(cc, city)])."""
        rng = self.rng
        taken = {asn for _, _, isps, carriers in COUNTRIES.values() for asn, _ in isps + carriers}
        networks = []
        while len(networks) < HOSTING_NETWORKS:
            asn = rng.choice(
                (rng.randrange(30000, 64000), rng.randrange(131072, 215000), rng.randrange(390000, 400000))
            )
            if asn in taken:
                continue
            taken.add(asn)
            countries = rng.sample(list(COUNTRIES), rng.choice((1, 1, 2, 3, 5)))
            networks.append((asn, [(cc, rng.choice(COUNTRIES[cc][1])) for cc in countries]))
        # Consumer VPN providers have exits everywhere.
        for i in range(CONSUMER_VPNS):
            asn, _ = networks[i]
            networks[i] = (asn, [(cc, rng.choice(COUNTRIES[cc][1])) for cc in COUNTRIES])
        return networks

    def _address(self, asn: int, cc: str, *, pools: int = 1, pool_size: int | None = None) -> str:
        """Return an address of ``asn`` in ``cc``; ``pools`` /16 prefixes, optional small pool per prefix."""
        rng = self.rng
        slot = rng.randrange(pools)
        key = (asn, cc, slot)
        if key not in self.prefixes:
            n = len(self.prefixes)
            self.prefixes[key] = (31 + n // 220, n % 220 + 10)
        a, b = self.prefixes[key]
        if pool_size is not None:
            k = rng.randrange(pool_size)
            return f"{a}.{b}.{k // 200}.{k % 200 + 2}"
        return f"{a}.{b}.{rng.randrange(256)}.{rng.randrange(1, 255)}"

    def carrier_address(self, asn: int, cc: str) -> str:
        return self._address(asn, cc, pools=8, pool_size=2000)  # rotating carrier-grade NAT

    def _person(self, i: int) -> _Person:
        rng, cfg = self.rng, self.cfg
        cc = pick_weighted(rng, [(c, v[0]) for c, v in COUNTRIES.items()])
        _, cities, isps, carriers = COUNTRIES[cc]
        isp = pick_weighted(rng, isps)
        devices = []
        if rng.random() < 0.7:
            devices.append([pick_weighted(rng, DESKTOPS), rng.randrange(0, 50), f"w2-{i}-0"])
        if rng.random() < 0.85 or not devices:
            devices.append([pick_weighted(rng, PHONES), rng.randrange(0, 50), f"w2-{i}-1"])
        if rng.random() < 0.1:
            devices.append(["ipad", rng.randrange(0, 80), f"w2-{i}-2"])
        work = None
        if rng.random() < 0.4:
            wasn = pick_weighted(rng, isps)
            work = (wasn, self._address(wasn, cc))
        vpn = None
        if rng.random() < cfg.vpn_users:
            asn, exits = rng.choice(self.vpn_providers)
            local = [e for e in exits if e[0] == cc]
            ecc, ecity = local[0] if local and rng.random() < 0.6 else rng.choice(exits)
            vpn = (asn, ecc, ecity)
        person = _Person(
            uid=rng.randrange(1, 10**12),
            cc=cc,
            city=rng.choice(cities),
            isp=isp,
            home_ip=self._address(isp, cc),
            carrier=pick_weighted(rng, carriers),
            work=work,
            devices=devices,
            rate=cfg.mean_logins_per_day * rng.lognormvariate(0, 1.0) / math.exp(0.5),
            vpn=vpn,
            vpn_share=rng.uniform(0.2, 0.8) if vpn else 0.0,
        )
        if rng.random() < cfg.travellers:
            for _ in range(rng.randint(1, 4)):
                start = rng.randrange(cfg.days)
                dcc = rng.choice([c for c in COUNTRIES if c != cc]) if rng.random() < 0.7 else cc
                hotel = rng.choice(self.hosting)[0] if rng.random() < 0.15 else pick_weighted(rng, COUNTRIES[dcc][2])
                person.trips.append((start, start + rng.randint(2, 12), dcc, rng.choice(COUNTRIES[dcc][1]), hotel))
        return person

    # --- rows ----------------------------------------------------------------------------------
    def _row(self, ts, uid, place: tuple, ua, *, ok=True, listed=False, ato=False, device_id="", attacker=""):
        """Return (time, CSV row); ``place`` is (ip, country, city, asn)."""
        ip, cc, (name, region, lat, lon), asn = place
        rng = self.rng
        return (
            ts,
            [
                0,
                ts.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                uid,
                "",
                ip,
                cc,
                region,
                name,
                asn,
                *ua,
                ok,
                listed,
                ato,
                f"{lat + rng.uniform(-0.08, 0.08):.4f}",
                f"{lon + rng.uniform(-0.08, 0.08):.4f}",
                device_id,
                attacker,
            ],
        )

    def _legit(self, p: _Person, day: int, ts: datetime) -> list:
        rng = self.rng
        if rng.random() < 0.003:  # a new phone (and often another platform)
            phones = [d for d in p.devices if BROWSERS[d[0]][0] == "mobile"]
            new = [pick_weighted(rng, PHONES), rng.randrange(0, 15), f"w2-{p.uid}-{rng.randrange(10**6)}"]
            if phones:
                p.devices[p.devices.index(phones[0])] = new
            else:
                p.devices.append(new)
        if rng.random() < 0.004:  # a browser switch on the computer
            for d in p.devices:
                if BROWSERS[d[0]][0] == "desktop":
                    d[0] = pick_weighted(rng, DESKTOPS)
                    break
        if rng.random() < 0.003:  # moved to another ISP
            p.isp = pick_weighted(rng, COUNTRIES[p.cc][2])
            p.home_ip = self._address(p.isp, p.cc)
        elif rng.random() < 0.02:
            p.home_ip = self._address(p.isp, p.cc)
        kind, lag, dev_id = rng.choice(p.devices)
        phone = BROWSERS[kind][0] == "mobile"
        trip = next((t for t in p.trips if t[0] <= day <= t[1]), None)
        cc, city = p.cc, p.city
        if trip is not None:
            _, _, tcc, tcity, hotel = trip
            if phone and rng.random() < 0.4:
                asn, ip = p.carrier, self.carrier_address(p.carrier, p.cc)  # roaming
            elif phone and rng.random() < 0.3:
                carrier = pick_weighted(rng, COUNTRIES[tcc][3])  # a local SIM
                asn, ip, cc, city = carrier, self.carrier_address(carrier, tcc), tcc, tcity
            else:
                asn, ip, cc, city = hotel, self._address(hotel, tcc), tcc, tcity
        elif p.vpn and rng.random() < p.vpn_share:
            asn, cc, city = p.vpn
            ip = self._address(asn, cc, pool_size=300)
        elif phone and rng.random() < 0.6:
            asn, ip = p.carrier, self.carrier_address(p.carrier, p.cc)
        elif p.work and not phone and 7 <= ts.hour <= 18 and ts.weekday() < 5 and rng.random() < 0.75:
            asn, ip = p.work
        elif rng.random() < 0.05:
            asn = pick_weighted(rng, COUNTRIES[p.cc][2])
            ip = self._address(asn, p.cc)
        else:
            asn, ip = p.isp, p.home_ip
        ua = user_agent(kind, day, lag)
        device_id = dev_id if rng.random() >= self.cfg.cookie_loss else f"x{rng.getrandbits(40):x}"
        rows = []
        if rng.random() < self.cfg.typo_rate:
            for k in range(rng.choice((1, 1, 1, 2, 3))):
                rows.append(
                    self._row(
                        ts - timedelta(seconds=8 * (k + 1)),
                        p.uid,
                        (ip, cc, city, asn),
                        ua,
                        ok=False,
                        device_id=device_id,
                    )
                )
        listed = rng.random() < (0.08 if p.vpn and asn == p.vpn[0] else 0.003)
        rows.append(self._row(ts, p.uid, (ip, cc, city, asn), ua, listed=listed, device_id=device_id))
        p.last_ua = ua
        p.logins += 1
        return rows

    def _attack(self, kind: str, ts: datetime, day: int) -> list:
        rng = self.rng
        victims = [p for p in self.people if p.logins]
        if not victims:
            return []
        v = rng.choice(victims)
        rows = []
        lag = rng.randrange(0, 150)
        if kind == "naive":
            if rng.random() < 0.55:
                asn, exits = rng.choice(self.hosting)
                cc, city = rng.choice(exits)
            else:
                cc = rng.choice(list(COUNTRIES))
                asn, city = pick_weighted(rng, COUNTRIES[cc][2]), rng.choice(COUNTRIES[cc][1])
            ip = self._address(asn, cc)
            ua = (
                (rng.choice(SCRIPTS), "", "", "")
                if rng.random() < 0.3
                else user_agent(pick_weighted(rng, DESKTOPS + PHONES), day, lag)
            )
            listed = rng.random() < 0.3
            for k in range(rng.randint(2, 30)):
                other = rng.choice(self.people)
                rows.append(
                    self._row(
                        ts - timedelta(seconds=3 * (k + 1)),
                        other.uid,
                        (ip, cc, city, asn),
                        ua,
                        ok=False,
                        listed=listed,
                        attacker=kind,
                    )
                )
        elif kind == "vpn":
            options = [(asn, e) for asn, exits in self.hosting[CONSUMER_VPNS:] for e in exits if e[0] == v.cc]
            asn, (cc, city) = rng.choice(options)
            ip = self._address(asn, cc, pool_size=300)
            ua = user_agent(pick_weighted(rng, DESKTOPS + PHONES), day, lag)
            listed = rng.random() < 0.15
        elif kind == "targeted":
            # A residential proxy in the victim's city: a consumer ISP address, the victim's browser.
            cc, city = v.cc, v.city
            asn = pick_weighted(rng, COUNTRIES[cc][2])
            ip = self._address(asn, cc)
            dkind, dlag, _ = rng.choice(v.devices)
            ua = user_agent(dkind, day, dlag)
            listed = rng.random() < 0.03
        else:
            cc, city, asn = v.cc, v.city, v.isp
            ip = self._address(asn, cc)
            ua = v.last_ua
            listed = False
        device_id = "" if ua[0] in SCRIPTS else f"x{rng.getrandbits(40):x}"
        if kind != "naive":
            for k in range(rng.randint(0, 3)):
                rows.append(
                    self._row(
                        ts - timedelta(seconds=30 * (k + 1)),
                        v.uid,
                        (ip, cc, city, asn),
                        ua,
                        ok=False,
                        listed=listed,
                        device_id=device_id,
                        attacker=kind,
                    )
                )
        rows.append(
            self._row(ts, v.uid, (ip, cc, city, asn), ua, listed=listed, ato=True, device_id=device_id, attacker=kind)
        )
        return rows

    def days(self):
        """Yield each day's rows in time order."""
        rng, cfg = self.rng, self.cfg
        for day in range(cfg.days):
            base = START + timedelta(days=day)
            events = []
            for p in self.people:
                for _ in range(poisson(rng, p.rate)):
                    hour = min(23.99, max(0.0, rng.gauss(13, 5)))
                    events.extend(self._legit(p, day, base + timedelta(hours=hour, seconds=rng.random() * 60)))
            if day >= cfg.warmup_days:
                for _ in range(poisson(rng, cfg.attacks_per_day)):
                    events.extend(
                        self._attack(
                            pick_weighted(rng, list(cfg.attack_mix)),
                            base + timedelta(seconds=rng.randrange(86400)),
                            day,
                        )
                    )
            events.sort(key=lambda e: e[0])
            yield [row for _, row in events]

    def write(self, out: TextIO) -> int:
        """Write the trace as CSV; return the number of rows."""
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS + EXTRA)
        n = 0
        for rows in self.days():
            for row in rows:
                row[0] = n
                writer.writerow(row)
                n += 1
        return n


def simulate_world2(out: TextIO, config: World2Config | None = None) -> int:
    """Write a trace of the second world to ``out``; return the number of rows."""
    return World2(config or World2Config()).write(out)
