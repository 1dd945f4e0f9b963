"""CSTA (ECMA-269) connector: Avaya AE Services, Alcatel-Lucent OXE, Unify OpenScape.

Layers, one module each: :mod:`.message` (neutral model + codec/framing
protocols), codecs (:mod:`.xml` ECMA-323, ``ber`` ECMA-285), framings
(:mod:`.framing`), one dialect module per vendor, and the connector.
"""
