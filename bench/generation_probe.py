"""Time and peak memory of generating one tile's Verilog, measured in a process of its own.

    python -m bench.generation_probe ROWS COLS [FORMATS]  ->  {"seconds": s, "peak_mib": m,
                                                              "bytes": b}

FORMATS is comma-separated (default int8).
"""

import json
import resource
import sys
import time

from hdl.emit import generate
from sim_models.config import TileConfig


def main():
    rows, cols = (int(value) for value in sys.argv[1:3])
    formats = tuple(sys.argv[3].split(",")) if len(sys.argv) > 3 else ("int8",)
    start = time.perf_counter()
    generated = generate(TileConfig(rows, cols, formats=formats))
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024,
                      "bytes": len(generated.verilog.encode())}))


if __name__ == "__main__":
    main()
