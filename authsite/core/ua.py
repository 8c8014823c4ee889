"""Parse user-agent strings fast, with ua-parser 1.x (its best installed backend) and an LRU.

``user_agents.parse()`` calls ua-parser's legacy pure-``re`` API (about 0.6 ms a string);
``ua_parser.parse()`` picks ua-parser-rs when installed (about 20 us). The engine needs only the
small :class:`ParsedUA`; :func:`user_agents_parse` keeps the ``user_agents`` object API for
templates and the admin, routed through the fast parser.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import ua_parser
from django.conf import settings
from django.utils.translation import gettext

MOBILE, TABLET, DESKTOP, BOT, UNKNOWN = "mobile", "tablet", "desktop", "bot", "unknown"

# Scripted clients and headless browsers. Matched case-insensitively against the raw string
# because ua-parser reports several of them as plain "Other" or as the browser they embed.
_AUTOMATION_TOKENS = (
    "curl",
    "wget",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "httpx",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww-perl",
    "headlesschrome",
    "phantomjs",
    "selenium",
    "webdriver",
    "puppeteer",
    "playwright",
    "scrapy",
    "httpclient",
    "axios",
    "node-fetch",
    "postmanruntime",
    "insomnia",
    "powershell",
    "java-http-client",
    "undici",
    "httpie",
    "deno/",
    "dart/",
    "ruby",
    "masscan",
)
_AUTOMATION_RE = re.compile("|".join(_AUTOMATION_TOKENS), re.IGNORECASE)
_AUTOMATION_FAMILIES = frozenset(
    {
        "curl",
        "Wget",
        "Python Requests",
        "Python-urllib",
        "Go-http-client",
        "HeadlessChrome",
        "PhantomJS",
        "Java",
        "okhttp",
        "Apache-HttpClient",
        "Scrapy",
    }
)
_TABLET_TOKENS = ("ipad", "tablet", "kindle", "silk", "playbook")  # and "android" without a later "mobile"
_MOBILE_TOKENS = ("mobi", "iphone", "ipod", "android", "windows phone", "blackberry", "opera mini")
_TABLET_RE = re.compile("|".join(_TABLET_TOKENS) + r"|(android(?!.*mobile))", re.IGNORECASE)
_MOBILE_RE = re.compile("|".join(_MOBILE_TOKENS), re.IGNORECASE)
_DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Fedora", "Chrome OS", "FreeBSD", "OpenBSD", "macOS"}
)


@dataclass(frozen=True, slots=True)
class ParsedUA:
    """The parts of a user agent the engine uses."""

    browser_family: str
    browser_major: str
    os_family: str
    os_version: str
    device_type: str
    is_automation: bool
    # Derived once (results are cached and reused): the second and third levels of the UA
    # hierarchy, browser name + major version and OS name + version.
    browser: str = field(default="", init=False, compare=False)
    os: str = field(default="", init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "browser", f"{self.browser_family} {self.browser_major}".strip())
        object.__setattr__(self, "os", f"{self.os_family} {self.os_version}".strip())

    @property
    def parsed(self) -> bool:
        """Return whether the parser recognised the browser."""
        return self.browser_family != "Other"

    @property
    def label(self) -> str:
        """ "Chrome 156 on Linux", as the site names a device to its user; "" when nothing is known."""
        return browser_on_os(self.browser if self.parsed else "", self.os if self.os_family != "Other" else "")


# The case-insensitive regexes above cost about 35 us a string, as much as ua-parser itself. For
# the usual string (ASCII, one line) plain substring tests on the lowercased text give the same
# answers at a fraction of the cost: ASCII letters fold only to each other, so lowercasing is
# exactly what IGNORECASE does there. Other strings (non-ASCII letters such as the Kelvin sign
# fold onto ASCII ones; "." in the tablet lookahead stops at a newline) keep the regexes.


def _is_automation_text(ua: str, low: str | None) -> bool:
    if low is None:
        return _AUTOMATION_RE.search(ua) is not None
    return any(token in low for token in _AUTOMATION_TOKENS)


def _is_tablet_text(ua: str, low: str | None) -> bool:
    if low is None:
        return _TABLET_RE.search(ua) is not None
    if any(token in low for token in _TABLET_TOKENS):
        return True
    # android(?!.*mobile): the last "android" has the shortest tail; if that tail holds "mobile",
    # so do the tails of all earlier ones.
    last = low.rfind("android")
    return last >= 0 and "mobile" not in low[last + 7 :]


def _is_mobile_text(ua: str, low: str | None) -> bool:
    if low is None:
        return _MOBILE_RE.search(ua) is not None
    return any(token in low for token in _MOBILE_TOKENS)


def _device_type(ua: str, result: ua_parser.Result, automation: bool, low: str | None = None) -> str:
    device = result.device
    if automation or (device is not None and device.family == "Spider"):
        return BOT
    if _is_tablet_text(ua, low):
        return TABLET
    if _is_mobile_text(ua, low):
        return MOBILE
    os_family = result.os.family if result.os else None
    if os_family in _DESKTOP_OS:
        return DESKTOP
    return UNKNOWN


def _parse(ua: str) -> ParsedUA:
    result = ua_parser.parse(ua)
    agent, os_ = result.user_agent, result.os
    family = agent.family if agent else "Other"
    low = ua.lower() if ua.isascii() and "\n" not in ua else None
    automation = not ua.strip() or family in _AUTOMATION_FAMILIES or _is_automation_text(ua, low)
    os_version = ""
    if os_ is not None and os_.major:
        os_version = os_.major + (f".{os_.minor}" if os_.minor else "")
    device_type = _device_type(ua, result, automation, low)
    return ParsedUA(
        browser_family=family,
        browser_major=(agent.major or "") if agent else "",
        os_family=os_.family if os_ else "Other",
        os_version=os_version,
        device_type=device_type,
        # A crawler the parser knows (Googlebot, masscan...) is no person at a browser either.
        is_automation=automation or device_type == BOT,
    )


def _make_cached():
    # The size is a risk-engine setting (documented and checked in risk.conf, whose loader also
    # clears this cache when it changes); the default here is the same.
    return functools.lru_cache(maxsize=int(getattr(settings, "RISK_UA_CACHE_SIZE", 4096)))(_parse)


_cached = None


def parse_ua(ua: str | None) -> ParsedUA:
    """Parse a user-agent string (None counts as empty, which is automation)."""
    global _cached  # noqa: PLW0603  (one lazily built LRU per process)
    if _cached is None:
        _cached = _make_cached()
    return _cached(ua or "")


def clear_cache() -> None:
    """Drop the LRU (and pick up a new RISK_UA_CACHE_SIZE)."""
    global _cached  # noqa: PLW0603
    _cached = None


def user_agents_parse(ua: str):
    """Return a ``user_agents`` ``UserAgent`` object built from the fast parser's result.

    ``user_agents.parse()`` runs ua-parser's slow legacy API; feed its constructors the 1.x
    result instead, which keeps its API (``is_mobile``, ``is_bot``, ``str()``).
    """
    from user_agents import parsers

    result = ua_parser.parse(ua or "")
    empty = {"major": None, "minor": None, "patch": None}
    agent = parsers.UserAgent.__new__(parsers.UserAgent)
    agent.ua_string = ua or ""
    ua_part, os_part, dev = result.user_agent, result.os, result.device
    agent.browser = parsers.parse_browser(
        **(
            {"family": ua_part.family, "major": ua_part.major, "minor": ua_part.minor, "patch": ua_part.patch}
            if ua_part
            else {"family": "Other", **empty}
        )
    )
    agent.os = parsers.parse_operating_system(
        **(
            {
                "family": os_part.family,
                "major": os_part.major,
                "minor": os_part.minor,
                "patch": os_part.patch,
                "patch_minor": os_part.patch_minor,
            }
            if os_part
            else {"family": "Other", **empty}
        )
    )
    agent.device = parsers.parse_device(
        **(
            {"family": dev.family, "brand": dev.brand, "model": dev.model}
            if dev
            else {"family": "Other", "brand": None, "model": None}
        )
    )
    return agent


def browser_on_os(browser: str, os: str) -> str:
    """Return "Chrome 156 on Linux" in the active language; either part alone when the other is
    unknown, "" when both are."""
    if browser and os:
        return gettext("%(browser)s on %(os)s") % {"browser": browser, "os": os}
    return browser or os
