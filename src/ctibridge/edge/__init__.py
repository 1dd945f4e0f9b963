"""The hybrid edge (docs/deployment.md#hybrid-edge): connectors on premises, publishing
into a NATS leaf node's JetStream, and the ``edge`` telephony type that the cloud's core
uses to see them as a local platform."""
