"""The use cases: what the API, the web forms, the CLI and jobs do, as plain functions taking
plain values and a session. Nothing here knows Flask; the entry points above call these for
every write, and may read through store/ directly.

- `configurations.py`: configure, create a configuration, add a revision, a solution lead's
  changes (under the configuration's lock, refused when stale), explain a revision
- `proposals.py`: approve a revision, make (or find) its PDF proposal
- `rendering.py`: the standard offer run and the render call of a configured document
- `content.py`: the served content, reloads, and the one cache of pipelines by content version
- `checks.py`: the one "check a pack" sequence (files, templates, compile, trial run)
- `trial.py`: the trial run of new content in a child process
"""
