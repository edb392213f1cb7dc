"""`python -m training`: the trainer's command line (see training/cli.py)."""

from training.cli import main

raise SystemExit(main())
