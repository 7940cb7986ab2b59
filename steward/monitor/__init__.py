"""Cluster metrics: scraping the exporters, storing time series, querying them."""
