"""Stage 0: the settings slices and the source listing, as files tasks depend on."""

from __future__ import annotations

from ..context import ActionContext
from ..store import write_text
from . import Result


def write_settings(ctx: ActionContext, files: dict[str, str]) -> Result:
    """Write the settings slices and the source listing (only those whose content changed)."""
    for name, text in files.items():
        write_text(ctx.paths.setting(name), text)
    return {}
