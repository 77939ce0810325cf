"""Timing constants of the tile that the cycle model shares with the RTL (``hdl.sequencer``
builds the hardware from the same numbers)."""

__all__ = ["OP_QUEUE_DEPTH", "drain_cycles"]

#: Operations buffered between the op stream and the sequencer's dispatcher.
OP_QUEUE_DEPTH = 4


def drain_cycles(config):
    """Cycles from a moving beat until no later read of its bank can miss its PSUM write:
    R + C - 1 for a :class:`~sim_models.config.TileConfig` of R rows and C columns."""
    return config.rows + config.cols - 1
