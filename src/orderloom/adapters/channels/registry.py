"""The typed channel registry: the built-in adapters plus any third-party ones registered under the
``orderloom.channels`` entry-point group (``name = "package.module:Factory"``, a zero-argument callable that returns
a ChannelAdapter)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.metadata import entry_points

from orderloom.adapters.channels.base import ChannelAdapter
from orderloom.domain.errors import DomainError

__all__ = ["BUILTIN_CHANNELS", "ENTRY_POINT_GROUP", "ChannelRegistry", "UnknownChannel", "default_registry"]

ENTRY_POINT_GROUP = "orderloom.channels"

# name -> "module:attribute" of a zero-argument factory; the same table is declared as entry points in pyproject
BUILTIN_CHANNELS: dict[str, str] = {
    "shopify": "orderloom.adapters.channels.shopify:ShopifyAdapter",
    "woocommerce": "orderloom.adapters.channels.woocommerce:WooCommerceAdapter",
    "amazon": "orderloom.adapters.channels.amazon:AmazonAdapter",
    "square": "orderloom.adapters.channels.square:SquareAdapter",
    "taobao": "orderloom.adapters.channels.taobao:TaobaoAdapter",
    "jd": "orderloom.adapters.channels.jd:JdAdapter",
    "kuaishou": "orderloom.adapters.channels.kuaishou:KuaishouAdapter",
    "douyin": "orderloom.adapters.channels.douyin:DouyinAdapter",
    "tiktok_shop": "orderloom.adapters.channels.tiktok_shop:TikTokShopAdapter",
    "canonical": "orderloom.adapters.channels.canonical:CanonicalAdapter",
}


class UnknownChannel(DomainError):
    """No adapter is registered under that name."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        super().__init__(f"unknown channel {name!r}; known: {', '.join(sorted(known))}")


def _load(target: str) -> Callable[[], ChannelAdapter]:
    import importlib

    module, _, attr = target.partition(":")
    factory: Callable[[], ChannelAdapter] = getattr(importlib.import_module(module), attr)
    return factory


def _lazy(target: str) -> Callable[[], ChannelAdapter]:
    def make() -> ChannelAdapter:
        return _load(target)()

    return make


class ChannelRegistry:
    """Channel name → adapter (built lazily, once)."""

    def __init__(self, factories: dict[str, Callable[[], ChannelAdapter]]) -> None:
        self._factories = dict(factories)
        self._adapters: dict[str, ChannelAdapter] = {}

    def register(self, name: str, factory: Callable[[], ChannelAdapter]) -> None:
        """Add or replace an adapter factory."""
        self._factories[name] = factory
        self._adapters.pop(name, None)

    def names(self) -> list[str]:
        """The registered channel names, sorted."""
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def get(self, name: str) -> ChannelAdapter:
        """The adapter for ``name``; UnknownChannel otherwise."""
        adapter = self._adapters.get(name)
        if adapter is None:
            factory = self._factories.get(name)
            if factory is None:
                raise UnknownChannel(name, self._factories)
            adapter = factory()
            if not isinstance(adapter, ChannelAdapter) or adapter.name != name:
                raise TypeError(f"channel {name!r}: the factory did not return a ChannelAdapter named {name!r}")
            self._adapters[name] = adapter
        return adapter


def default_registry() -> ChannelRegistry:
    """The built-in channels plus every ``orderloom.channels`` entry point (which may override a built-in)."""
    factories: dict[str, Callable[[], ChannelAdapter]] = {}
    for name, target in BUILTIN_CHANNELS.items():
        factories[name] = _lazy(target)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.value != BUILTIN_CHANNELS.get(ep.name):
            factories[ep.name] = _lazy(ep.value)
    return ChannelRegistry(factories)
