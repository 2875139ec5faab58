"""The study grid: cells, shared artifacts, the runner and the report (issue 15)."""
