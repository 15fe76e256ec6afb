"""SLA gauges for /metrics: breached, at-risk and attainment per plan, priority and metric."""
