"""Metering and monitoring: the sampler (one bulk reading of every VM per interval), aggregation windows, and the Prometheus/OpenMetrics exposition."""
