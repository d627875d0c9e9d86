"""Performance rules: plain Python, no I/O.

- `money`: exact amounts in integer minor units, and the one rounding rule.
- `pay_rules`: a site's pay rules as versioned data.
- `statement`: a pay statement as a ledger of lines, each with its provenance.
- `kpi`: metrics, KPIs as ratios of pooled fact sums, and the weighted score.
"""
