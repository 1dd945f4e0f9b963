"""Several hub nodes on NATS JetStream (docs/deployment.md): the core runs on the node
that holds the lease, every node serves sockets fed from the bus."""
