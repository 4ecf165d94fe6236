"""Campaign reports: what each campaign did (funnel, delivery, satisfaction, cost) and whether it helped.

Every figure is aggregated by the database (GROUP BY); Python only receives counts, never one row per
message. `build.build_report` assembles a `model.CampaignReport`; `render` turns it into HTML (with
`charts`), Markdown or JSON.
"""
