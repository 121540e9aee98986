"""The process exit codes of every ``mistral-lsp`` command, in one place.

``serve``, ``check`` and ``review`` share them, and the GitHub Action and docs/ci.md read them:

- ``OK`` (0): done; for ``review``, no finding at or above ``--fail-on``.
- ``FINDINGS`` (1): ``review`` found something at or above ``--fail-on``.
- ``USAGE`` (2): a bad command line or settings file; nothing was run.
- ``INCOMPLETE`` (3): the model could not be used (unreachable, refused, failed to load) or a
  review left units unreviewed; ``check`` when the model is not usable.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What a ``mistral-lsp`` process tells its caller."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    INCOMPLETE = 3
