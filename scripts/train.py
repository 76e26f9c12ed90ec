"""`python scripts/train.py ...` is `bigmodel train ...` (thin wrapper of the CLI)."""

import sys

from bigmodel_tf.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
