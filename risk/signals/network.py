"""Hosting and VPN networks: sign-ins from data centres are rare for people and common for bots.

Plain Freeman treats a globally rare network as *less* like an attack (docs/risk-model.md); this bounded term
corrects that. A network the user has signed in from before (their own VPN) adds nothing.
"""

from __future__ import annotations

import functools

from django.utils.translation import gettext_lazy as _

from risk import conf
from risk.model import IP_LEVELS
from risk.network_type import classify_org, network_history
from risk.signals import Signal, SignalResult

# Well-known hosting / VPN-exit ASNs: the numbers the operators themselves register (look them up
# in the RIR whois, on bgp.he.net or PeeringDB), and which public datacenter/VPN ASN lists such as
# X4BNet/lists_vpn also carry. Transit carriers are deliberately absent: their customers are
# people and offices. Sites with their own data should set RISK_HOSTING_ASNS.
DEFAULT_HOSTING_ASNS = frozenset(
    {
        16509,
        14618,  # Amazon AWS
        396982,
        15169,
        19527,  # Google Cloud / Google
        8075,  # Microsoft Azure
        14061,  # DigitalOcean
        16276,  # OVH
        24940,  # Hetzner
        63949,  # Linode / Akamai
        20473,  # Vultr (Choopa)
        9009,  # M247 (many commercial VPN exits)
        13335,  # Cloudflare (WARP)
        45102,  # Alibaba Cloud
        31898,  # Oracle Cloud
        12876,  # Scaleway
        51167,  # Contabo
        60068,  # Datacamp / CDN77 (VPN exits)
        212238,  # Datacamp
        136787,  # TEFINCOM (NordVPN)
        209854,  # Surfshark
        62240,  # Clouvider
        36352,  # ColoCrossing
        53667,  # FranTech / BuyVM
    }
)


@functools.cache
def hosting_asns() -> frozenset[int]:
    """Return RISK_HOSTING_ASNS, or the default list when unset."""
    configured = conf.get("RISK_HOSTING_ASNS")
    return frozenset(int(a) for a in configured) if configured is not None else DEFAULT_HOSTING_ASNS


class HostingNetworkSignal(Signal):
    """The network is a hosting or VPN network the user has not used before.

    Known from the ASN lists (RISK_HOSTING_ASNS), the AS organisation name in the GeoIP ASN
    database (risk/network_type.py) or a hosting list loaded with ``risk_blocklist_load --kind
    hosting`` (``ctx.hosting_listed``).
    """

    code = "hosting_network"
    weight = 2.0
    texts = {
        "hosting": _("This sign-in comes from a hosting or VPN network"),
        "vpn": _("This sign-in comes from a VPN or proxy service"),
    }

    def evaluate(self, ctx, snap, velocity):
        kind = self.kind(ctx)
        if kind is None or snap.user.get((IP_LEVELS[1], ctx.network), 0):
            return None
        return SignalResult(self.code, self.weight, self.texts[kind], network=True)

    @staticmethod
    def kind(ctx) -> str | None:
        """Return "vpn", "hosting" or None for the sign-in's network."""
        org_kind = classify_org(ctx.geo.asn_org)
        if org_kind is not None:
            return org_kind
        if ctx.hosting_listed or (ctx.geo.asn is not None and ctx.geo.asn in hosting_asns()):
            return "hosting"
        return None


class RareNetworkSignal(Signal):
    """A network new to the user that hardly any account of the site has signed in from.

    Plain Freeman takes a network's global frequency for its likelihood under attack, so the
    rarer a network, the *safer* it looks, while attackers pick networks without regard to where
    the site's users live (VPN exits, rented servers, proxies). Residential and mobile networks
    of a site's users are shared by many of its accounts; a network no other account (or one or
    two) has used is a bounded risk term here, once the site has enough history to say so. A
    network whose users rarely come back (many accounts once or twice, risk/network_type.py)
    adds a smaller term.
    """

    code = "rare_network"
    text = _("This sign-in comes from a network hardly anyone here signs in from")
    min_site_users = 200  # below this, every network of the site is rare
    rare_users = 2  # at most this many accounts have signed in from it
    weights = (2.0, 1.5, 1.0)  # by the number of accounts seen there: 0, 1, 2
    transient_weight = 1.0
    transient_log = 0.7  # ln(site share / network share) of returning users beyond which it counts

    def evaluate(self, ctx, snap, velocity):
        network = ctx.network
        if not network or snap.n_user == 0 or snap.n_users < self.min_site_users:
            return None
        if snap.user.get((IP_LEVELS[1], network), 0):
            return None
        history = network_history(snap, network)
        if history is None:
            return None
        if history.users <= self.rare_users:
            return SignalResult(self.code, self.weights[history.users], self.text, network=True)
        if history.log_transience >= self.transient_log:
            return SignalResult("transient_network", self.transient_weight, TRANSIENT_TEXT, network=True)
        return None


TRANSIENT_TEXT = _("This sign-in comes from a network whose users rarely come back, as with VPNs and servers")
