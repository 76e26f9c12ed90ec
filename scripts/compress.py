"""`python scripts/compress.py --run RUN_DIR ...` is `bigmodel compress ...` (thin CLI wrapper)."""

import sys

from bigmodel_tf.cli import main

if __name__ == "__main__":
    sys.exit(main(["compress", *sys.argv[1:]]))
