"""What operators watch: log format, request lines, Prometheus metrics."""
