"""Steward's Secrets Manager: the service (`service`), its rows and their SCRAM associations with
clusters (`store`), its AWS JSON 1.1 endpoint (`api`, reading requests with `request_members`)
and its command, `steward secret` (`cli`). Secrets Manager's rules are modules of their own:
its errors (`errors`), staging labels (`stages`), tags (`tags`), resource policies (`policies`),
GetRandomPassword (`passwords`) and the operations Steward refuses (`unsupported`).
It sits below `steward.security`, whose SCRAM sync reads the secrets, and imports only
`steward.domain`, `steward.store`'s tables, `steward.crypto` and `steward.wire`; its command also
uses the CLI's client, `steward.client`."""
