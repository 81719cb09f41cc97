"""System check: the configured gateway's settings, said in one line each before anything runs."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from .gateway_settings import SettingError


@register(Tags.compatibility)
def check_gateway_settings(app_configs=None, **kwargs):
    from .backends import backend_class

    name = settings.SMS_BACKEND
    try:
        if name == "smpp":
            from .links.smpp.config import smpp_config

            smpp_config()
        elif name in ("kannel", "jasmin"):
            backend_class(name)()
    except SettingError as exc:
        return [Error(str(exc), hint="See docs/gateways/.", id="notices.E001")]
    return []
