"""CloudWatch's API over Steward's metrics and alarms (namespace `AWS/Kafka` and users' own)."""
