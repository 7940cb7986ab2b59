"""What Steward's clusters are, independent of any layer: the model (clusters, their spec and
status, nodes, operations), the limits MSK sets, and the rules that need no store, no Kafka and
no wire format. Nothing here imports another part of Steward."""
