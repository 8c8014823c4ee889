"""Hosting and VPN networks: sign-ins from data centres are rare for people and common for bots.

Plain Freeman treats a globally rare network as *less* like an attack (docs/risk-model.md); this bounded term
corrects that. A network the user has signed in from before (their own VPN) adds nothing.
"""

from __future__ import annotations

import functools

from django.utils.translation import gettext_lazy as _

from risk import conf
from risk.model import IP_LEVELS
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
    """The network is a hosting/VPN ASN the user has not used before."""

    code = "hosting_network"
    weight = 2.0

    def evaluate(self, ctx, snap, velocity):
        if ctx.geo.asn is None or ctx.geo.asn not in hosting_asns():
            return None
        if snap.user.get((IP_LEVELS[1], ctx.network), 0):
            return None
        return SignalResult(self.code, self.weight, _("This sign-in comes from a hosting or VPN network"), network=True)
