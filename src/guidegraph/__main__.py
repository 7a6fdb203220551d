"""Allow ``python -m guidegraph``."""

from guidegraph.cli import main

if __name__ == "__main__":
    main(prog_name="guidegraph")
