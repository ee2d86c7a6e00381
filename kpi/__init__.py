"""The kpibot domain: storage, importers and KPI logic, with no Slack or templating inside."""
