"""Asterisk connector: AMI (framing, client, normalization) with optional ARI.

* :mod:`.framing` — AMI bytes -> messages (never drops or merges one).
* :mod:`.ami` — the asyncio client (login, actions, lists, keep-alive).
* :mod:`.normalizer` — AMI events -> normalized ctibridge events (no I/O).
* :mod:`.connector` — the :class:`~ctibridge.telephony.base.TelephonyConnector`.
* :mod:`.restore` — agents kept across an Asterisk restart or a link outage.
* :mod:`.reconcile` — calls whose Hangup was lost end; nothing kept per call.
* :mod:`.ari` — the few ARI calls used for hold, answer and conference.
* :mod:`.transcript` — reads the recorded sessions used by tests and bench.
* :mod:`.synth` — copies of recorded calls with fresh ids (bench, tests).
"""
