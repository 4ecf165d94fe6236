"""Privacy: the audit trail, retention and purge, and a person's rights (see, object, erase).

One module per job: `audit_log` reads the trail, `config_versions` audits changed configuration
files, `retention` reads `retention.yaml`, `aggregates` keeps the counts a purge must not lose,
`purge` applies retention, `person` gathers what is held about someone, `objection` records a "no",
`erasure` erases a person and keeps only a keyed hash so they are never re-imported.
"""
