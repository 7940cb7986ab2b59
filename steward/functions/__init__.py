"""Functions and their triggers from topics: a Lambda-compatible side service (the `lambda`
client of boto3 on Steward's endpoint) that runs Python code, or calls a URL, for the records of
a cluster's topics through event-source mappings."""
