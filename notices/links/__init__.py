"""Carrier links: long-lived connections to an SMSC or ISMG, held by `manage.py sms_link`.

`base.py` is the contract between a protocol (smpp/, cmpp/) and the link process that
feeds it from the outbox; `parts.py` decides how a text is split and encoded.
"""
