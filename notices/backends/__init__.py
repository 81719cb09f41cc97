"""SMS gateway backends, chosen by SMS_BACKEND like Django's EMAIL_BACKEND.

SMS_BACKEND takes a short name (console, locmem, file, http, kannel, jasmin, smpp) or a
dotted path to a class derived from `BaseSmsBackend`.
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from .base import BaseSmsBackend, Outgoing, SendResult, StatusResult

SHORT_NAMES = {
    "console": "notices.backends.console.ConsoleBackend",
    "locmem": "notices.backends.locmem.LocmemBackend",
    "file": "notices.backends.file.FileBackend",
    "http": "notices.backends.http.HttpBackend",
    "kannel": "notices.backends.kannel.KannelBackend",
    "jasmin": "notices.backends.jasmin.JasminBackend",
    "smpp": "notices.backends.links.SmppBackend",
    "cmpp": "notices.backends.links.CmppBackend",
}


def backend_path(name: str | None = None) -> str:
    name = name or settings.SMS_BACKEND
    return SHORT_NAMES.get(name, name)


def backend_class(name: str | None = None) -> type[BaseSmsBackend]:
    """The class SMS_BACKEND (or `name`) stands for, not instantiated (it may need settings
    only sending uses)."""
    return import_string(backend_path(name))


@lru_cache(maxsize=8)
def _backend_for(path: str) -> BaseSmsBackend:
    return import_string(path)()


def get_backend(name: str | None = None) -> BaseSmsBackend:
    """The configured backend (one instance per process: it may hold a connection pool)."""
    return _backend_for(backend_path(name))


def reset_backends() -> None:
    """Forget cached backend instances (settings changed, e.g. in tests)."""
    _backend_for.cache_clear()


__all__ = [
    "BaseSmsBackend",
    "Outgoing",
    "SendResult",
    "StatusResult",
    "backend_class",
    "get_backend",
    "reset_backends",
]
