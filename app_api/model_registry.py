"""Import every module that defines tables, so ``Base.metadata`` is complete.

Alembic's autogenerate and the tests' table list read ``Base.metadata``; a model module
nobody imported would silently be missing from both.
"""

from __future__ import annotations

import app_api.models
import blocking.models
import blocking.review_examples
import blocking.texts
import numbering.models
import numbering.preferences
import proxy.models

Base = numbering.models.Base

__all__ = ["Base", "app_api", "blocking", "numbering", "proxy"]
