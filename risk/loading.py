"""Cached loaders of the swappable parts, cleared when a risk setting changes.

The same pattern as ``django.contrib.auth.hashers.get_hashers``: import once, cache, and drop the
cache on ``setting_changed`` so ``override_settings`` in tests takes effect.
"""

from __future__ import annotations

import functools
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from risk import conf


@functools.cache
def get_policy() -> Any:
    """Return the configured policy instance (RISK_POLICY)."""
    return import_string(conf.policy_path())()


@functools.cache
def get_signals() -> tuple[Any, ...]:
    """Return instances of the configured signals (RISK_SIGNALS), in order."""
    return tuple(import_string(path)() for path in conf.get("RISK_SIGNALS"))


@functools.cache
def get_geo_provider() -> Any:
    """Return the configured GeoIP provider instance (RISK_GEOIP_PROVIDER)."""
    return import_string(conf.get("RISK_GEOIP_PROVIDER"))()


def clear_caches() -> None:
    """Forget every loaded part; the next call loads them from the current settings."""
    get_policy.cache_clear()
    get_signals.cache_clear()
    get_geo_provider.cache_clear()
    conf.current.cache_clear()
    from authsite.core import ua
    from risk.signals import network, reputation

    ua.clear_cache()
    network.hosting_asns.cache_clear()
    reputation.get_reputation_list.cache_clear()
    from risk.blocklist import clear_site_reputation_cache
    from risk.calibration import clear_site_thresholds_cache

    clear_site_reputation_cache()
    clear_site_thresholds_cache()


@receiver(setting_changed, dispatch_uid="risk.loading.setting_changed")
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in conf.SETTING_NAMES:
        clear_caches()
