"""slo-compiler: SLO files in, Prometheus and Grafana configuration out."""

__version__ = "0.1.0"
