"""Prefect flows: the operators' entry points. Flows order the steps; `outreach` functions do the work."""
