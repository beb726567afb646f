"""The learning path as software: the 84-day plan, one lab per day, progress.

- :mod:`aipath.labs.plan_data` / :mod:`aipath.labs.plan` — the plan (Chinese + English).
- :mod:`aipath.labs.registry` — which module implements which day (weeks 1–4 so far).
- ``w1`` … ``w4`` — the labs: ``run(out_dir, quick)`` writes artefacts,
  ``check(quick)`` compares against a reference and returns numbers with pass/fail.
- :mod:`aipath.labs.runner`, :mod:`aipath.labs.progress` — running and remembering.
"""
