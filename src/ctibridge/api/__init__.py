"""HTTP and WebSocket surface: REST for integrations, the agent socket for bars."""
