"""Reference model of all-to-all and all-to-all-v (``hdl.fabric.alltoall``): what every node
receives, and the checks of a count matrix.

In one all-to-all every node ``s`` sends block ``blocks[s][d]`` (a sequence of 32-bit elements,
0 to ``max_count`` of them, the counts chosen at run time) to every node ``d``, itself
included. Node ``d`` then gives the count it received from each source, sources in order, and
the elements of every block, sources in order, each block in the order it was sent.
All-to-all is the case of equal counts.
"""

from dataclasses import dataclass

__all__ = ["AllToAllResult", "check_blocks", "alltoall_reference"]


@dataclass(frozen=True)
class AllToAllResult:
    """What one node gives after an all-to-all.

    Members
    -------
    counts : tuple of int
        Elements received from each source, source 0 first.
    elements : tuple of int
        Every received element, block of source 0 first.
    """
    counts: tuple
    elements: tuple


def check_blocks(blocks, nodes, max_count):
    """Raise ``ValueError`` (one line) unless ``blocks`` holds ``nodes`` rows of ``nodes``
    blocks, each of at most ``max_count`` elements."""
    if len(blocks) != nodes:
        raise ValueError(f"Parameter 'blocks' must hold one row per node, {nodes}, "
                         f"not {len(blocks)}")
    for source, row in enumerate(blocks):
        if len(row) != nodes:
            raise ValueError(f"Parameter 'blocks' row {source} must hold a count (a block) for "
                             f"each of the {nodes} nodes, not {len(row)}")
        for destination, block in enumerate(row):
            if len(block) > max_count:
                raise ValueError(f"Parameter 'blocks' [{source}][{destination}] has "
                                 f"{len(block)} elements, more than the {max_count} a receive "
                                 f"buffer holds per source (max_count)")


def alltoall_reference(blocks, max_count):
    """Every node's :class:`AllToAllResult` for ``blocks[source][destination]``.

    Raises
    ------
    ValueError
        As :func:`check_blocks`.
    """
    nodes = len(blocks)
    check_blocks(blocks, nodes, max_count)
    return [AllToAllResult(tuple(len(blocks[source][node]) for source in range(nodes)),
                           tuple(int(element) for source in range(nodes)
                                 for element in blocks[source][node]))
            for node in range(nodes)]
