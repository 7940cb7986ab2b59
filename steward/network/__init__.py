"""The network the zones of the embedded default live on (see `steward.network.zones`)."""
