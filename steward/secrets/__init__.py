"""Steward's Secrets Manager: the service (`service`), its rows and their SCRAM associations with
clusters (`store`), its AWS JSON 1.1 endpoint (`api`) and its command, `steward secret` (`cli`).
It sits below `steward.control`, whose SCRAM sync reads the secrets, and imports only
`steward.domain`, `steward.store`'s tables, `steward.crypto` and `steward.wire`; its command also
uses the CLI's client, `steward.client`."""
