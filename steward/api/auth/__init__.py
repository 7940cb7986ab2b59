"""Who may call Steward's API: AWS SigV4 signatures made with Steward's access keys."""
