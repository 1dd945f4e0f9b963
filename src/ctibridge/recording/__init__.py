"""Record a live platform link to a transcript, and replay one through the hub.

``transcript`` is the connector-neutral file format; ``asterisk`` its AMI
framing, recorder, replay and option inference; ``proxy`` a recording TCP
proxy; ``replay`` the hub side; ``cli`` the ``record``/``replay`` commands.
"""
