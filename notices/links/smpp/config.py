"""The SMPP link's settings (a contract: other tools start the link with exactly these)."""

from __future__ import annotations

from dataclasses import dataclass

from ...gateway_settings import setting_int, setting_text


@dataclass(frozen=True)
class SmppConfig:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str
    source_addr: str
    window: int
    binds: int
    enquire_link_s: int


def smpp_config() -> SmppConfig:
    """The SMS_SMPP_* settings, checked; a bad one raises SettingError (one line)."""
    return SmppConfig(
        host=setting_text("SMS_SMPP_HOST", required=True, max_length=253, ascii_only=True).strip(),
        port=setting_int("SMS_SMPP_PORT", minimum=1, maximum=65535, default=2775),
        # SMPP 3.4 fixes the lengths: system_id 16, password 9, system_type 13 octets with the NUL.
        system_id=setting_text("SMS_SMPP_SYSTEM_ID", required=True, max_length=15, ascii_only=True),
        password=setting_text("SMS_SMPP_PASSWORD", max_length=8, ascii_only=True, secret=True),
        system_type=setting_text("SMS_SMPP_SYSTEM_TYPE", max_length=12, ascii_only=True),
        source_addr=setting_text("SMS_SMPP_SOURCE_ADDR", required=True, max_length=20, ascii_only=True),
        window=setting_int("SMS_SMPP_WINDOW", minimum=1, maximum=1000, default=10),
        binds=setting_int("SMS_SMPP_BINDS", minimum=1, maximum=100, default=1),
        enquire_link_s=setting_int("SMS_SMPP_ENQUIRE_LINK_S", minimum=1, maximum=3600, default=30),
    )
