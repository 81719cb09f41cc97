"""CMPP 2.0 / 3.0, the protocol of China Mobile's ISMG (a bank's 106 number).

`pdu.py` encodes and decodes the PDUs, `session.py` holds one connection (the
`LinkSession` contract of `notices/links/base.py`), `config.py` checks the SMS_CMPP_*
settings, and `fake_ismg.py` is a local ISMG of our own for demos and tests
(`manage.py fake_ismg`). See docs/gateways/cmpp.md.
"""
