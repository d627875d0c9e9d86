"""Roster's authority projection (cadre.authority), kept in performance's database.

Its revisions live with the authority library; this file puts revision authority_0003 in the
chain alembic reads for performance.
"""

from cadre.authority.migrations.authority_0003_employee_version import *  # noqa: F403
