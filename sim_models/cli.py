"""What every command line of the project shares: usage errors in one line."""

import argparse

__all__ = ["ArgumentParser"]


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose usage errors are one line on stderr, exit status 2:
    ``<prog>: error: <what is wrong>`` (``--help`` shows the usage)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")

    @classmethod
    def for_module(cls, module, doc, **options):
        """The parser of ``python -m <module>``, described by the first paragraph of ``doc``
        (the module's docstring) in full; ``options`` as for ``argparse.ArgumentParser``."""
        return cls(prog=f"python -m {module}", description=" ".join(doc.split("\n\n")[0].split()),
                   **options)
