"""Everything that talks to a running Prometheus: the HTTP client, time ranges, the replay
of the SLOs' alert conditions, and `verify` (the load-test gate). The compiler's core stays
pure; queries are built from the same planned IR as the rules (plan.ExprBuilder)."""
