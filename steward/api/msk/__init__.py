"""The MSK-compatible REST API: routes, wire shapes and MSK's error responses."""
