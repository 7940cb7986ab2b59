"""MSK Connect on Steward: custom plugins, worker configurations and connectors whose workers are
real Kafka Connect processes (distributed mode) run by the hosts' agents."""
