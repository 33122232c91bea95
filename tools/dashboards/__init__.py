"""Grafana dashboards as code (grafanalib): generated JSON lives in deploy/grafana/dashboards/."""
