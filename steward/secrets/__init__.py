"""Steward's Secrets Manager: the service (`service`), its rows and their SCRAM associations with
clusters (`store`) and its AWS JSON 1.1 endpoint (`api`). It sits below `steward.control`, whose
SCRAM sync reads the secrets, and imports only `steward.domain`, `steward.store`'s tables,
`steward.crypto` and `steward.wire`. Its command, `steward secret`, is `steward.cli.secrets`, on
top of the CLI's client."""
