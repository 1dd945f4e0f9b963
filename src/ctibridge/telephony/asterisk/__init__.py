"""Asterisk connector: AMI (framing, client, normalization) with optional ARI.

* :mod:`.ami` — wire format, parser, asyncio client.
* :mod:`.normalizer` — AMI events -> normalized ctibridge events (no I/O).
* :mod:`.connector` — the :class:`~ctibridge.telephony.base.TelephonyConnector`.
* :mod:`.ari` — the few ARI calls used for hold, answer and conference.
* :mod:`.transcript` — reads the recorded sessions used by tests and bench.
"""
