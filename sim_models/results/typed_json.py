"""A generic decoder of parsed JSON into annotated dataclasses: every field checked against
its type annotation (int, float, str, bool, ``X | None``, ``tuple[X, ...]``, ``dict[str, X]``,
nested dataclasses), unknown and missing fields refused, and the dataclass's own
``__post_init__`` checks (``ValueError``) reported with the path of the field."""

import json
import types
import typing
from dataclasses import MISSING, fields, is_dataclass

__all__ = ["Inconsistent", "decode", "json_type"]


class Inconsistent(Exception):
    """Content that does not fit the schema; the message says where and how."""


def json_type(value):
    """What ``value`` (parsed JSON) is, in words: "an object", "a list", "a number", ..."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def decode(kind, value, where):
    """``value`` (parsed JSON) as the annotated type ``kind``; ``where`` names it."""
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if origin is types.UnionType:
        if value is None and type(None) in arguments:
            return None
        return decode(next(a for a in arguments if a is not type(None)), value, where)
    if is_dataclass(kind):
        return _decode_dataclass(kind, value, where)
    checks = {int: lambda v: isinstance(v, int) and not isinstance(v, bool),
              float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              str: lambda v: isinstance(v, str), bool: lambda v: isinstance(v, bool),
              tuple: lambda v: isinstance(v, list), dict: lambda v: isinstance(v, dict)}
    expected = origin or kind
    if not checks[expected](value):
        names = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
                 tuple: "a list", dict: "an object"}
        shown = json.dumps(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise Inconsistent(f"field '{where}' must be {names[expected]}, not "
                            f"{json_type(value)} ({shown})")
    if expected is float:
        return float(value)
    if expected is tuple:
        return tuple(decode(arguments[0], item, f"{where}[{index}]")
                     for index, item in enumerate(value))
    if expected is dict and arguments:
        return {key: decode(arguments[1], item, f"{where}.{key}")
                for key, item in value.items()}
    return value


def _decode_dataclass(kind, value, where):
    """``value`` (a parsed JSON object) as the dataclass ``kind``; ``where`` names it."""
    prefix = f"{where}." if where else ""
    if not isinstance(value, dict):
        raise Inconsistent(f"field '{where}' must be an object, not {json_type(value)}")
    hints = typing.get_type_hints(kind)
    members = fields(kind)
    unknown = set(value) - {item.name for item in members}
    if unknown:
        raise Inconsistent(f"field '{prefix}{sorted(unknown)[0]}' is unknown")
    arguments = {}
    for item in members:
        if item.name in value:
            arguments[item.name] = decode(hints[item.name], value[item.name],
                                           prefix + item.name)
        elif item.default is MISSING:
            raise Inconsistent(f"field '{prefix}{item.name}' is missing")
    try:
        return kind(**arguments)
    except ValueError as error:
        raise Inconsistent(f"{where}: {error}" if where else str(error)) from None
