"""The hub's business rules: calls, agents, permissions, event flow. No protocol parsing."""
