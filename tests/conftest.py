"""Settings every test run shares."""

from __future__ import annotations

import os

from steward.kafka.java import JVM_OPTIONS_ENV

# The suite starts and stops hundreds of short-lived Kafka JVMs on a machine of two cores: with
# only the client compiler, each takes a fraction of the CPU to start and warm up, and Kafka
# behaves the same. Benchmarks do not come through here and run Kafka as it ships.
os.environ.setdefault(JVM_OPTIONS_ENV, "-XX:TieredStopAtLevel=1")
