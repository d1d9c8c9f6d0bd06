"""The common base of every schema model and the translation of pydantic's
validation errors into messages that name the field at fault.

The CIM side turns a `ValidationError` into Hyper-V's 32773 "invalid
parameter" and shows the message to the client, so the message must say
which field was wrong, in the model's own words.
"""

from __future__ import annotations

import re
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

# A model-level validator cannot set an error's location, so ours start their
# message with the field they are about ("startup_mb: …") and it is moved
# into the location here.
_FIELD_PREFIX = re.compile(r"^([a-z_][a-z0-9_]*): (.*)$", re.DOTALL)


class SchemaModel(BaseModel):
    """Strict about unknown fields (a misspelt setting must not be dropped
    silently) and immutable: backends hand out the models they hold, and
    events carry them, so nobody may change one in place. `replace` makes a
    changed copy and validates it (pydantic's `model_copy` would not)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def replace(self, **changes: Any) -> Self:
        values = {name: getattr(self, name) for name in type(self).model_fields}
        values.update(changes)
        return type(self).model_validate(values)


def field_path(location: tuple[int | str, ...]) -> str:
    """`("drives", 0, "slot")` → `"drives[0].slot"`."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(value)"


def describe_validation_error(error: ValidationError) -> list[tuple[str, str]]:
    """One `(field, message)` pair per problem, in pydantic's order."""
    problems = []
    for item in error.errors():
        location, message = tuple(item["loc"]), item["msg"].removeprefix("Value error, ")
        named = _FIELD_PREFIX.match(message)
        if named:
            location, message = location + (named.group(1),), named.group(2)
        problems.append((field_path(location), message))
    return problems


def validation_message(error: ValidationError) -> str:
    """All problems on one line: `memory.startup_mb: Input should be ≥ 32; …`."""
    return "; ".join(f"{field}: {message}" for field, message in describe_validation_error(error))
