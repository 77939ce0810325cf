"""Sourced hardware specifications: Trainium chips and systems, and GPUs to compare against.

The data live in this package as TOML files, one per chip family (trn1, trn2, trn3, h100,
h200, b200), plus sources.toml with the citation and addresses of every source key; each number carries the
key of the source it comes from (see ``loader`` for the file format). Architectural parameters
(cores, array size, clock, MACs per PE per cycle, memories, links, topologies) are the model's
inputs; the ``published`` headline figures are comparison targets only.

>>> specs = load_specs()
>>> specs.chip("trn2").core.clock.value
2400000000.0
"""

from .loader import DATATYPES, DEFAULT_DIRECTORY, PUBLISHED_QUANTITIES, load_specs, read_toml
from .types import (ChipSpec, CoreSpec, PublishedFigure, Source, Sourced, SpecError, Specs,
                    SystemSpec, Topology)

__all__ = ["load_specs", "Specs", "ChipSpec", "CoreSpec", "SystemSpec", "Topology", "Source",
           "Sourced", "PublishedFigure", "SpecError", "DATATYPES", "DEFAULT_DIRECTORY",
           "PUBLISHED_QUANTITIES", "read_toml"]
