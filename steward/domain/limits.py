"""The limits MSK sets, that Steward keeps too."""

from __future__ import annotations

MAX_VOLUME_SIZE_GB = 16384
"""MSK's largest EBS volume per broker."""
