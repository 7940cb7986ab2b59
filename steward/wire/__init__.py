"""What Steward's AWS-compatible endpoints share on the wire, below any one service: the AWS
JSON 1.1 (`X-Amz-Target`) request reader and error writer of the Secrets Manager and Private CA
endpoints. Imports only `steward.domain`."""
