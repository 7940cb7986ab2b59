"""Talking to a Steward server: the HTTP client with SigV4 signing (`api`, `signing`), the
credentials it signs with and the file that holds them (`credentials`, `credentials_file`), the
CLI context every command gets (`context`), options shared between command groups (`options`)
and output formatting (`output`). It sits below every command group, in `steward.cli` and in
the wings (`steward.pca.cli`, `steward.secrets.cli`), and imports only `steward.settings` among
Steward's packages."""
