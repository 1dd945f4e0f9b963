"""Telephony connectors: one module or package per platform, one interface."""
