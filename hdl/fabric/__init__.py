"""On-chip interconnect that joins tiles: packets, routers, rings and tori."""

from .config import FabricConfig
from .router import Router
from .topology import Fabric, Ring, Torus2D, fabric_module_name, router_module_name

__all__ = ["FabricConfig", "Router", "Fabric", "Ring", "Torus2D", "fabric_module_name",
           "router_module_name"]
