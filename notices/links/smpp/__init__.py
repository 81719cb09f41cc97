"""SMPP 3.4: the transceiver session (`session.py`), its PDUs (`pdu.py`), its settings
(`config.py`) and `fake_smsc.py`, the SMSC of our own that `manage.py fake_smsc` runs."""

from .config import SmppConfig, smpp_config
from .session import SmppSession, session_from_settings

__all__ = ["SmppConfig", "SmppSession", "session_from_settings", "smpp_config"]
