"""Design-space sweeps: a grid of tile configurations, each generated, built, measured on the
RTL and projected to chip scale, run on Dask (a local cluster, or an existing one).

- :mod:`sweep.grid`: the TOML grid file, parsed into :class:`~sweep.grid.SweepPoint` s;
- :mod:`sweep.stages`: what is done per point, as plain functions (:data:`~sweep.stages.STAGES`);
- :mod:`sweep.synthesis`, :mod:`sweep.pe_timing`: Yosys area figures and the ECP5 fmax of a PE;
- :mod:`sweep.store`: the SQLite store of finished points, keyed by the point's digest;
- :mod:`sweep.tasks`: what each Dask task runs (generation, build, synthesis, PE timing, a
  point's stages);
- :mod:`sweep.engine`: the tasks submitted once each and shared, points stored as they finish;
- :mod:`sweep.progress`: points done, running and failed while the sweep runs;
- :mod:`sweep.report`: the results table and plots under ``reports/sweep/``;
- ``python -m sweep``: the command line (``make sweep SWEEP=sweeps/smoke.toml``).
"""
