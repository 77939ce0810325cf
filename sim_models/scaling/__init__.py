"""The scaling layer: from what the RTL tile and fabric measured to NeuronCore, chip, instance,
UltraServer and cluster figures, and the report that sets them beside the published ones.

Modules, each with one job: :mod:`.peak` (peak FLOP/s), :mod:`.core_cycles` (a core's GEMM
cycles from the RTL-validated cycle model), :mod:`.gemm` (a chip's GEMM with its HBM roofline),
:mod:`.network` (all-reduces and sends over real topologies), :mod:`.parallel` (TP/PP/DP layouts
counted in NeuronCores), :mod:`.engines` (Vector, Scalar and GpSimd work), :mod:`.memory` (HBM
use per chip), :mod:`.workloads`, :mod:`.training` and :mod:`.decode` (transformer training and
decode steps), :mod:`.measurements` and :mod:`.calibration` (AWS's published measurements, the
fitted parameters and the error on every row), :mod:`.comparisons` and :mod:`.claims` (the
model beside published figures and news claims), :mod:`.characterization` (the RTL
measurements and how well the models reproduce them), :mod:`.inputs` (the results files the
report reads and whether each is current), :mod:`.report` and :mod:`.plots` (the report).
``python -m sim_models.scaling`` answers single questions.
"""
