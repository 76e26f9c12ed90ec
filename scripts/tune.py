"""`python scripts/tune.py ...` is `bigmodel tune ...` (thin wrapper of the CLI)."""

import sys

from bigmodel_tf.cli import main

if __name__ == "__main__":
    sys.exit(main(["tune", *sys.argv[1:]]))
