"""Each cluster's security, kept by the control plane: its certificate authority and its nodes'
TLS certificates (`certificates`), the nodes' data keys for encryption at rest (`data_keys`), the
SCRAM credentials of the secrets associated with it (`scram`), the private CAs its brokers trust
for client certificates (`client_trust`), and its principals' access policies with their rows
(`cluster_policies`, `policy_store`) and the Kafka ACLs they compile to (`policy_sync`). It sits
above the crypto primitives (`steward.crypto`), the store, Kafka, the agents' client and the
private CA and Secrets Manager services (`steward.pca`, `steward.secrets`), and below
`steward.control`, whose use cases and steps call it."""
