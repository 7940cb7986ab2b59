"""Unit tests see the same clusters on every host: unencrypted at rest unless a test asks, whether
or not this host has gocryptfs (`Settings.encrypts_at_rest`)."""

import os

from steward.settings import ENCRYPTION_AT_REST_ENV

os.environ.setdefault(ENCRYPTION_AT_REST_ENV, "off")
