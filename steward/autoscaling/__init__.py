"""Application Auto Scaling for Steward's clusters: storage that grows before it fills, and
broker counts that follow the load, as scalable targets with target tracking policies."""
