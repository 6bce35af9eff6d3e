"""Reports and exports built on the KPI engine."""
