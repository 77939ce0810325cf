"""On-chip interconnect that joins tiles: packets, routers, rings and tori of up to three
dimensions, trees of switches (Trainium3's NeuronSwitch levels), the network interface that all-reduces int32, FP32 or BF16 vectors over a ring,
and the one that runs all-to-all (-v) on any of them. Configurations are
:class:`sim_models.config.FabricConfig`, :class:`sim_models.config.AllReduceConfig` and
:class:`sim_models.config.AllToAllConfig`; the topology and its routing relation are in
:mod:`sim_models.topology`."""

from .allreduce import AllReduceInterface, AllReduceRing
from .alltoall import AllToAll, AllToAllInterface
from .router import Router
from .topology import Fabric, router_leaves, router_module_name

__all__ = ["AllReduceInterface", "AllReduceRing", "AllToAll", "AllToAllInterface", "Router",
           "Fabric", "router_leaves", "router_module_name"]
