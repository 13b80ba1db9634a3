"""The athlete/subject answers a protocol asks for (its ``subject:`` fields), checked the
same way wherever they are typed: at the terminal (``labkit run``) or in the web console."""

from __future__ import annotations

from typing import Any

from labkit.errors import ConfigError

__all__ = ["check_answers", "field_value"]


def field_value(field: Any, value: Any) -> Any:
    """One answer converted to the field's type and checked against its range.

    Parameters
    ----------
    field : SubjectField
        A protocol's subject field (``name``, ``type``, ``min``, ``max``).
    value : str or number
        What was typed.

    Returns
    -------
    str, int or float

    Raises
    ------
    ConfigError
        Not a number for a number field, or outside ``[min, max]``: one line naming the
        field, the value and the fix.
    """
    if field.type not in ("float", "int"):
        return value
    try:
        number = float(value) if field.type == "float" else int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{field.name}={value!r} is not a number; give a {field.type}") from None
    too_low = field.min is not None and number < field.min
    if too_low or (field.max is not None and number > field.max):
        raise ConfigError(f"{field.name}={number} is outside [{field.min}, {field.max}]")
    return number


def check_answers(protocol: Any, answers: dict[str, Any]) -> dict[str, Any]:
    """All answers of a form, checked: required fields present, values typed and in range.

    Parameters
    ----------
    protocol : Protocol
    answers : dict
        Field name to what was typed (empty strings count as not given).

    Returns
    -------
    dict
        The typed answers (fields not given are left out).
    """
    out: dict[str, Any] = {}
    known = {f.name for f in protocol.subject}
    unknown = sorted(k for k in answers if k not in known)
    if unknown:
        raise ConfigError(f"protocol {protocol.name!r} has no subject field {unknown[0]!r}; "
                          f"its fields are {sorted(known)}")
    for field in protocol.subject:
        value = answers.get(field.name)
        if value in (None, ""):
            if field.required:
                raise ConfigError(f"protocol {protocol.name!r} asks for {field.name!r} "
                                  f"({field.prompt}); fill it in")
            continue
        out[field.name] = field_value(field, value)
    return out
