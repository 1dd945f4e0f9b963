"""The domain: calls, agents, interactions and events. No I/O lives here."""
