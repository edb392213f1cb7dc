"""`python -m training`: the trainer's command line (see training/cli.py)."""

from torch.distributed.elastic.multiprocessing.errors import record

from training.cli import main

# Under torchrun, `record` writes a failing rank's exception where torchrun's summary
# of the job's root cause reads it; run by hand it changes nothing.
raise SystemExit(record(main)())
