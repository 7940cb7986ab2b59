"""The balancer: a model of a cluster's load and a planner that evens it out with few bytes
moved. Pure: nothing here talks to Kafka, the store or the metrics; `steward.control` builds
the model from them and carries the plan out."""
