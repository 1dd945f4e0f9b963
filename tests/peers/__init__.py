"""Test peers: small servers written from a protocol's standard, for integration tests."""
