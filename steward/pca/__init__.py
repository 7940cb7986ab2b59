"""Steward's private certificate authority, compatible with AWS Private CA (`acm-pca`): the
service (`service`), its rows (`store`), its AWS JSON 1.1 endpoint (`api`) and its command,
`steward ca` (`cli`). It sits below `steward.control`, which uses it for clusters with mutual-TLS
client authentication, and imports only `steward.domain`, `steward.store`'s tables,
`steward.crypto` and `steward.wire`; its command also uses the CLI's client, `steward.client`."""
