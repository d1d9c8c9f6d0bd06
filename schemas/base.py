"""The common base of every schema model and the translation of pydantic's
validation errors into messages that name the field at fault.

The CIM side turns a `ValidationError` into Hyper-V's 32773 "invalid
parameter" and shows the message to the client, so the message must say
which field was wrong, in the model's own words.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


class SchemaModel(BaseModel):
    """Strict about unknown fields (a misspelt setting must not be dropped
    silently) and validating on assignment, so a model never holds a value
    its validators would refuse."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


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
    return [(field_path(item["loc"]), item["msg"]) for item in error.errors()]


def validation_message(error: ValidationError) -> str:
    """All problems on one line: `memory.startup_mb: Input should be ≥ 32; …`."""
    return "; ".join(f"{field}: {message}" for field, message in describe_validation_error(error))
