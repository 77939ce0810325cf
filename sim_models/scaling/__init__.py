"""The scaling layer: from what the RTL tile and fabric measured to NeuronCore, chip, instance,
UltraServer and cluster figures, and the report that sets them beside the published ones.

Modules, each with one job: :mod:`.peak` (peak FLOP/s), :mod:`.core_cycles` (a core's GEMM
cycles from the RTL-validated cycle model), :mod:`.gemm` (a chip's GEMM with its HBM roofline),
:mod:`.network` (all-reduce over real topologies), :mod:`.workloads` and :mod:`.training`
(transformer training and decode steps), :mod:`.comparisons` and :mod:`.claims` (the model
beside published figures and news claims), :mod:`.characterization` (the RTL measurements and
how well the models reproduce them), :mod:`.inputs` (the results files the report reads and
whether each is current), :mod:`.report` and :mod:`.plots` (the report).
``python -m sim_models.scaling`` answers single questions.
"""
