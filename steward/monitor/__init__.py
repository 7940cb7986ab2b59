"""Cluster metrics: scraping the exporters and reading Kafka's Admin API, storing time series,
querying them as MSK's metrics, and the alarms that watch them."""
