"""Steward's private certificate authority, compatible with AWS Private CA (`acm-pca`): the
service (`service`), its rows (`store`) and its AWS JSON 1.1 endpoint (`api`). It sits below
`steward.control`, which uses it for clusters with mutual-TLS client authentication, and imports
only `steward.domain`, `steward.store`'s tables, `steward.crypto` and `steward.wire`. Its
command, `steward ca`, is `steward.cli.private_ca`, on top of the CLI's client."""
