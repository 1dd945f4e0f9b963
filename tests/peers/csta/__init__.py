"""A protocol-faithful CSTA peer: :mod:`.switch` (ECMA-269 call model and services) and
:mod:`.server` (TCP, pluggable codec and framing, DMCC / OpenScape / OXE session rules)."""
