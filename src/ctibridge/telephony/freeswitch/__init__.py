"""FreeSWITCH connector: Event Socket (inbound mode) with mod_callcenter as the ACD.

* :mod:`.esl` — ESL bytes -> frames (Content-Length framing) and events.
* :mod:`.client` — the asyncio client (auth, api/bgapi with Job-UUID, keep-alive).
* :mod:`.normalizer` — FreeSWITCH events -> normalized ctibridge events (no I/O).
* :mod:`.connector` — the :class:`~ctibridge.telephony.base.TelephonyConnector`.
* :mod:`.config` — the options (``telephony[].options``).

Transcripts of ESL sessions (record, replay) live in :mod:`ctibridge.recording.esl`.
"""
