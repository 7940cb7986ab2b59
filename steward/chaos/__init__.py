"""Fault injection: break a running cluster on purpose and measure how Steward heals it."""
