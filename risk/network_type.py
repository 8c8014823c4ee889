"""What kind of network a sign-in comes from: hosting or VPN, learned or named.

Three sources, none of them a hand list of a few ASNs:

1. **The AS organisation name** that GeoIP2/GeoLite2 ASN databases carry
   (``autonomous_system_organization``): :func:`classify_org` recognises hosting, cloud,
   datacenter, colocation, server and VPN providers by the words and brands in the name, and
   leaves ISPs and mobile carriers alone.
2. **Lists the operator loads** (``manage.py risk_blocklist_load --kind hosting``): ASN and CIDR
   lists of hosting and VPN space, as operators keep them (risk/blocklist.py).
3. **The site's own history**: on residential and mobile networks, people come back; on VPN exits
   and cloud hosts, many different accounts each appear once or twice. For each network the count
   store keeps how many users signed in from it (level ``netu``) and how many of those did so at
   least ``RETURNING_AFTER`` times (``netr``), global counts like the model's. The share of
   returning users, shrunk towards the site's own share, says how transient a network is; the
   replay has only the ASN number, and this statistic carries it on its own.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

NETWORK_USERS = "netu"  # global count per network: users with at least one sign-in from it
NETWORK_RETURNING = "netr"  # ... users with at least RETURNING_AFTER sign-ins from it
RETURNING_AFTER = 3  # "appear once or twice" versus "come back"
# How many users' worth of the site-wide share a network's own share is shrunk towards: a network
# seen from a handful of accounts says little on its own.
PRIOR_USERS = 4.0


def network_stat_levels(user_count: int) -> tuple[str, ...]:
    """Return the statistics a user's ``user_count``-th sign-in from a network adds to (0 to 1 level)."""
    if user_count == 1:
        return (NETWORK_USERS,)
    if user_count == RETURNING_AFTER:
        return (NETWORK_RETURNING,)
    return ()


def network_stat_keys(network: str | None) -> list[tuple[str, str]]:
    """Return the global keys under which ``network``'s statistics are counted."""
    if not network:
        return []
    return [(NETWORK_USERS, network), (NETWORK_RETURNING, network)]


class NetworkHistory(NamedTuple):
    """How a network's users behave, from the global counts."""

    users: int  # users who signed in from it
    returning: int  # ... of whom came back at least RETURNING_AFTER times
    site_share: float  # the share of returning users over all networks of the site
    share: float  # this network's share, shrunk towards ``site_share``

    @property
    def log_transience(self) -> float:
        """Return ln(site share / network share): 0 for a typical network, positive for a transient one."""
        return math.log(self.site_share / self.share)


def network_history(snap, network: str | None) -> NetworkHistory | None:
    """Return ``network``'s history from a counts snapshot, or None before the site has any."""
    if not network:
        return None
    site_users = snap.totals.get(NETWORK_USERS, 0)
    if site_users < 50:  # too young a site to know what "usual" is
        return None
    site_share = (snap.totals.get(NETWORK_RETURNING, 0) + 1.0) / (site_users + 2.0)
    users = snap.glob.get((NETWORK_USERS, network), 0)
    returning = snap.glob.get((NETWORK_RETURNING, network), 0)
    share = (returning + PRIOR_USERS * site_share) / (users + PRIOR_USERS)
    return NetworkHistory(users, returning, site_share, share)


# --- AS organisation names -----------------------------------------------------------------------
# Words that name the business of hosting (matched at the start of a word, any case).
_HOSTING_WORDS = (
    r"host\w*",
    r"web ?host",
    r"data ?cent(er|re)s?",
    r"datacent(er|re)s?",
    r"colo(cation)?",
    r"co-location",
    r"vps\w*",
    r"vds\w*",
    r"dedicated",
    r"dedi",
    r"serv(er|ers|erius)\w*",
    r"cloud\w*",
    r"compute",
    r"hyperscale",
    r"bare ?metal",
    r"cdn",
    r"seedbox",
    r"racks?",
    r"idc",
)
# Words that name anonymising services.
_VPN_WORDS = (
    r"vpn\w*",
    r"proxy",
    r"proxies",
    r"private internet access",
    r"anonymi[sz]\w*",
    r"tor exit",
    r"privacy",
)
# Providers whose names carry none of those words (brands), hosting and VPN alike.
_BRANDS = (
    r"amazon",
    r"aws",
    r"google cloud",
    r"google llc",
    r"microsoft",
    r"azure",
    r"digitalocean",
    r"linode",
    r"akamai connected cloud",
    r"vultr",
    r"choopa",
    r"ovh",
    r"hetzner",
    r"leaseweb",
    r"contabo",
    r"scaleway",
    r"online s\.?a\.?s",
    r"m247",
    r"datacamp",
    r"cdn77",
    r"frantech",
    r"buyvm",
    r"colocrossing",
    r"psychz",
    r"quadranet",
    r"hivelocity",
    r"clouvider",
    r"alibaba",
    r"aliyun",
    r"tencent",
    r"oracle",
    r"softlayer",
    r"ibm cloud",
    r"linode",
    r"packethub",
    r"tefincom",
    r"nordvpn",
    r"expressvpn",
    r"surfshark",
    r"mullvad",
    r"proton ?ag",
    r"cyberghost",
    r"ipvanish",
    r"windscribe",
    r"kape technologies",
    r"zenlayer",
    r"kamatera",
    r"ionos",
    r"hostinger",
    r"netcup",
    r"servinga",
    r"xtom",
    r"g-core",
    r"gcore",
    r"stark industries",
    r"pq hosting",
    r"aeza",
)
# Words of consumer access networks. Together with only a weak hosting word (cloud, server, data
# centre...) they mean an ISP or carrier that also sells hosting, which stays unclassified.
_ACCESS_WORDS = (
    r"mobile",
    r"mobil",
    r"wireless",
    r"cellular",
    r"telecom\w*",
    r"telekom\w*",
    r"telco",
    r"broadband",
    r"cable",
    r"cablevision",
    r"dsl",
    r"fib(er|re)",
    r"fttx?",
    r"communications?",
    r"comunica\w+",
    r"kommunikation",
    r"telefon\w*",
    r"telephone",
    r"isp",
    r"internet service provider",
    r"wifi",
    r"lte",
    r"5g",
    r"4g",
    r"3g",
    r"gsm",
    r"satellite",
    r"residential",
    r"university",
    r"universit\w+",
    r"college",
    r"school",
)
# A hosting word that, with an access word, does not make a host (ISPs sell clouds and servers).
_WEAK_HOSTING = (r"cloud\w*", r"serv(er|ers|erius)\w*", r"compute", r"cdn", r"idc", r"racks?", r"dedi")


def _words(patterns) -> re.Pattern:
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(patterns) + r")(?![a-z0-9])", re.IGNORECASE)


_VPN = _words(_VPN_WORDS)
_BRAND = _words(_BRANDS)
_HOSTING = _words(_HOSTING_WORDS)
_STRONG_HOSTING = _words([p for p in _HOSTING_WORDS if p not in _WEAK_HOSTING])
_ACCESS = _words(_ACCESS_WORDS)
# Names glue words together ("HostEurope", "ServerMania", "DataCenterLuxembourg"): split on case.
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def classify_org(org: str | None) -> str | None:
    """Return "vpn" or "hosting" for the AS organisation name of a hosting or VPN provider, else None.

    A VPN word or brand wins; a hosting brand or a strong hosting word (hosting, datacenter,
    colocation, VPS, dedicated) makes a host; a weak one (cloud, server, CDN) does so only when the
    name has no word of a consumer access network (mobile, broadband, telecom, cable, fibre...).
    """
    if not org:
        return None
    name = " ".join(_CAMEL.sub(" ", org).replace("_", " ").split())
    if _VPN.search(name):
        return "vpn"
    if _BRAND.search(name) or _BRAND.search(org):
        return "vpn" if re.search(r"vpn|tefincom|packethub|mullvad|proton|kape|cyberghost", name, re.I) else "hosting"
    if _STRONG_HOSTING.search(name):
        return "hosting"
    if _HOSTING.search(name) and not _ACCESS.search(name):
        return "hosting"
    return None
