"""IAM and STS on Steward's endpoint: users and their access keys, roles and their temporary
credentials, identity policies, the decision of every API request, and the audit of refusals."""
