"""Import every module that defines tables, so ``Base.metadata`` is complete.

Alembic's autogenerate and the tests' table list read ``Base.metadata``; a model module
nobody imported would silently be missing from both.
"""

from __future__ import annotations

import app_api.models
import blocking.models
import blocking.review_examples
import blocking.text_records
import calls.models
import numbering.models
import numbering.outbox
import numbering.preferences

Base = numbering.models.Base

__all__ = ["Base", "app_api", "blocking", "calls", "numbering"]
