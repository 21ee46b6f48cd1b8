"""``python -m rnnkit ...``: the ``rnnkit`` command, for an environment whose scripts folder is not on PATH."""
import sys

from rnnkit.cli.entry import main

sys.exit(main())
