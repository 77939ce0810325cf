"""On-chip interconnect that joins tiles: packets, routers, rings and tori, and the network
interface that all-reduces int32 vectors over a ring. Configurations are
:class:`sim_models.config.FabricConfig` and :class:`sim_models.config.AllReduceConfig`."""

from .allreduce import AllReduceInterface, AllReduceRing
from .router import Router
from .topology import Fabric, router_module_name

__all__ = ["AllReduceInterface", "AllReduceRing", "Router", "Fabric", "router_module_name"]
