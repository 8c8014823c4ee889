"""Realistic, distinct user-agent strings for the benches (browser and OS versions varied).

``make_user_agents(n, seed)`` returns ``n`` distinct strings: Chrome, Edge, Opera, Samsung
Internet and Firefox on Windows, macOS, Linux and Android, Safari and Chrome on iPhone and iPad,
plus a few percent of scripted clients (curl, python-requests, Go, headless Chrome), roughly the
mix a sign-in page sees.
"""

from __future__ import annotations

import random

ANDROID_MODELS = (
    "SM-G991B",
    "SM-S918B",
    "SM-A546B",
    "Pixel 7",
    "Pixel 8 Pro",
    "Redmi Note 12",
    "CPH2451",
    "moto g54 5G",
    "2201116SG",
    "K",
)
WINDOWS = ("Windows NT 10.0; Win64; x64", "Windows NT 10.0; WOW64", "Windows NT 6.1; Win64; x64")
MAC_VERSIONS = ("10_15_7", "13_6_1", "14_2_1", "14_5", "12_7_4")


def _chrome_version(rng: random.Random, major: int) -> str:
    return f"{major}.0.{rng.randint(4000, 6900)}.{rng.randint(1, 250)}"


def _one(rng: random.Random) -> str:
    kind = rng.random()
    chrome = rng.randint(96, 131)
    cv = _chrome_version(rng, chrome)
    if kind < 0.30:  # Chrome desktop
        plat = rng.choice(
            [
                "Windows NT 10.0; Win64; x64",
                f"Macintosh; Intel Mac OS X {rng.choice(MAC_VERSIONS)}",
                "X11; Linux x86_64",
            ]
        )
        return f"Mozilla/5.0 ({plat}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{cv} Safari/537.36"
    if kind < 0.45:  # Chrome / Samsung Internet on Android
        android = rng.randint(9, 14)
        model = rng.choice(ANDROID_MODELS)
        if rng.random() < 0.25:
            sb = f"{rng.randint(17, 25)}.0"
            return (
                f"Mozilla/5.0 (Linux; Android {android}; {model}) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"SamsungBrowser/{sb} Chrome/{cv} Mobile Safari/537.36"
            )
        return (
            f"Mozilla/5.0 (Linux; Android {android}; {model}) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{cv} Mobile Safari/537.36"
        )
    if kind < 0.62:  # Safari / Chrome on iPhone and iPad
        ios_major, ios_minor = rng.randint(14, 17), rng.randint(0, 7)
        ios = f"{ios_major}_{ios_minor}" + (f"_{rng.randint(1, 3)}" if rng.random() < 0.3 else "")
        device = "iPad; CPU OS" if rng.random() < 0.2 else "iPhone; CPU iPhone OS"
        build = f"15E{rng.randint(100, 999)}"
        if rng.random() < 0.2:
            return (
                f"Mozilla/5.0 ({device} {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                f"CriOS/{cv} Mobile/{build} Safari/604.1"
            )
        return (
            f"Mozilla/5.0 ({device} {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Version/{ios_major}.{ios_minor} Mobile/{build} Safari/604.1"
        )
    if kind < 0.72:  # Safari on macOS
        safari = f"{rng.randint(14, 17)}.{rng.randint(0, 6)}"
        return (
            f"Mozilla/5.0 (Macintosh; Intel Mac OS X {rng.choice(MAC_VERSIONS)}) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Version/{safari} Safari/605.1.15"
        )
    if kind < 0.86:  # Firefox
        ff = rng.randint(91, 133)
        plat = rng.choice(
            [
                rng.choice(WINDOWS),
                f"Macintosh; Intel Mac OS X {rng.choice(MAC_VERSIONS).replace('_', '.')}",
                "X11; Ubuntu; Linux x86_64",
                "X11; Linux x86_64",
                f"Android {rng.randint(10, 14)}; Mobile",
            ]
        )
        return f"Mozilla/5.0 ({plat}; rv:{ff}.0) Gecko/20100101 Firefox/{ff}.0"
    if kind < 0.93:  # Edge
        return (
            f"Mozilla/5.0 ({rng.choice(WINDOWS)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{cv} "
            f"Safari/537.36 Edg/{chrome}.0.{rng.randint(1000, 2900)}.{rng.randint(1, 120)}"
        )
    if kind < 0.97:  # Opera
        return (
            f"Mozilla/5.0 ({rng.choice(WINDOWS)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{cv} "
            f"Safari/537.36 OPR/{rng.randint(90, 115)}.0.{rng.randint(1000, 5500)}.{rng.randint(1, 99)}"
        )
    # Scripted clients and headless browsers.
    return rng.choice(
        [
            f"curl/7.{rng.randint(58, 88)}.{rng.randint(0, 3)}",
            f"curl/8.{rng.randint(0, 11)}.{rng.randint(0, 3)}",
            f"python-requests/2.{rng.randint(20, 32)}.{rng.randint(0, 3)}",
            f"Go-http-client/{rng.choice(['1.1', '2.0'])}",
            f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/{cv} Safari/537.36",
            f"okhttp/4.{rng.randint(0, 12)}.{rng.randint(0, 3)}",
        ]
    )


def make_user_agents(n: int, seed: int = 1) -> list[str]:
    """Return ``n`` distinct user-agent strings (deterministic for a seed)."""
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    while len(seen) < n:
        seen.setdefault(_one(rng), None)
    return list(seen)
