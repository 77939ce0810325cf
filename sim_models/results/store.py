"""Results files: :func:`save` writes a document atomically with its schema name;
:func:`load` returns the typed document of a file of one of the :data:`KINDS` or raises
:class:`ResultsError`, whose message is one line naming the file, what is wrong with it and
the make target that rebuilds it."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..files import replace_atomically
from .schema import FabricCharacterization, TileCharacterization
from .typed_json import Inconsistent, decode, json_type

__all__ = ["KINDS", "ResultsError", "load", "save"]


class ResultsError(Exception):
    """A results file that cannot be used; the message is one line: the file, what is wrong
    and the make target that rebuilds it."""


@dataclass(frozen=True)
class _Kind:
    """One kind of results file: its document type, the make target that writes it, and
    whether it must be dated."""
    document: type
    target: str
    dated: bool = False


#: The kinds of results file, by the name the command line takes.
KINDS = {"tile": _Kind(TileCharacterization, "characterize-tile"),
         "float": _Kind(TileCharacterization, "characterize-tile"),
         "full": _Kind(TileCharacterization, "characterize-full", dated=True),
         "full_float": _Kind(TileCharacterization, "characterize-full-float", dated=True),
         "full_trn3": _Kind(TileCharacterization, "characterize-full-trn3", dated=True),
         "fabric": _Kind(FabricCharacterization, "characterize-fabric")}


def _to_json(document):
    return json.dumps({"schema": document.SCHEMA, **asdict(document)}, indent=1) + "\n"


def save(document, path):
    """Write ``document`` (a TileCharacterization or FabricCharacterization) to ``path`` as
    JSON with its schema, atomically (a temporary file in the same directory, then
    ``os.replace``); create the directory.

    Raises
    ------
    ResultsError
        If the file cannot be written; one line naming it and why.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, _to_json(document))
    except OSError as error:
        raise ResultsError(f"cannot write {path}: "
                           f"{error.strerror or error}") from None


def load(path, kind):
    """The typed document of the results file ``path`` of ``kind`` (a key of :data:`KINDS`).

    Raises
    ------
    ResultsError
        If the file is missing or unreadable, truncated or not JSON, of a foreign schema
        (wrong or missing ``schema``), or inconsistent (fields missing, unknown or of the
        wrong type, digests malformed, runs naming no design). The message is one line: the
        file, what is wrong and the make target that rebuilds it.
    """
    spec, path = KINDS[kind], Path(path)
    schema = spec.document.SCHEMA

    def fail(problem, remedy="rebuilds it"):
        raise ResultsError(f"{path}: {problem}; make {spec.target} {remedy}")

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail("no such file", "writes it")
    except UnicodeDecodeError:
        fail("not text: corrupt")
    except OSError as error:
        fail(f"cannot be read: {error.strerror or error}")
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        fail(f"not JSON, truncated or corrupt ({error.msg}: line {error.lineno} column "
             f"{error.colno})")
    if not isinstance(content, dict):
        fail(f"holds {json_type(content)}, not an object with schema {schema}")
    if "schema" not in content:
        fail(f"field 'schema' is missing: not a results file of schema {schema}")
    if content["schema"] != schema:
        fail(f"schema {content['schema']!r} is foreign: this version reads {schema}")
    try:
        document = decode(spec.document, {key: value for key, value in content.items()
                                           if key != "schema"}, "")
    except Inconsistent as error:
        fail(f"inconsistent: {error}")
    if spec.dated and document.date is None:
        fail("inconsistent: field 'date' is missing: a full-size run is dated")
    return document
