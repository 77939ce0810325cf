"""Design-space sweeps: per-point figures of tile configurations (synthesis, timing).

Everything here is a plain function of a typed configuration returning plain, frozen data, so
that it can run in a Dask worker and its result be stored as JSON (``dataclasses.asdict``).
"""
