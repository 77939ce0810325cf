"""Characterization results as typed data: the records that ``tb`` writes and that the scaling
layer and the benchmarks read, each file with its schema name and version.

- :mod:`.schema`: the records, :class:`TileCharacterization` (schema
  ``tile-characterization/2``) and :class:`FabricCharacterization` (schema
  ``fabric-characterization/3``) and what they hold.
- :mod:`.typed_json`: the generic decoder of JSON into those dataclasses.
- :mod:`.store`: :func:`save` and :func:`load` of a results file of one of the :data:`KINDS`.
  Six files are read: ``build/characterization/tile.json`` (kind ``tile``, ``make
  characterize-tile``), ``build/characterization/tile_float.json`` (``float``, the same
  target), the dated full-size 128 x 128 runs ``characterization/r128c128_verilator.json``
  (``full``, ``make characterize-full``), ``characterization/r128c128_trn2_verilator.json``
  (``full_float``, ``make characterize-full-float``) and
  ``characterization/r128c128_trn3_verilator.json`` (``full_trn3``, ``make
  characterize-full-trn3``), all three tracked and adding the date and each model's build
  arguments and times, and ``build/characterization/fabric.json`` (``fabric``,
  ``make characterize-fabric``).
- ``python -m sim_models.results check KIND FILE``: the command line make calls.

:mod:`sim_models.staleness` compares each design's digests with today's.
"""

from .schema import (AllReduceRun, AlphaBetaFit, CollectiveFit, CollectiveRun,
                     FabricCharacterization, HopLatency, HopPoint,
                     LinkEfficiency, ModelBuild, SimulatedDesign, TileCharacterization, TileRun,
                     fit_series)
from .store import KINDS, ResultsError, load, save

__all__ = ["KINDS", "AllReduceRun", "AlphaBetaFit", "CollectiveFit", "CollectiveRun",
           "FabricCharacterization", "HopLatency",
           "HopPoint", "LinkEfficiency", "ModelBuild", "ResultsError", "SimulatedDesign",
           "TileCharacterization", "TileRun", "fit_series", "load", "save"]
