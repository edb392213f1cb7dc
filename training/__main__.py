"""`python -m training`: the trainer's command line (see training/cli.py)."""

import os
import sys

from torch.distributed.elastic.multiprocessing.errors import record

from training.cli import main

# Under torchrun, `record` writes a failing rank's exception where torchrun's summary
# of the job's root cause reads it; run by hand it changes nothing.
code = record(main)()
if int(os.environ.get("WORLD_SIZE", "1")) > 1:
    # A finished rank leaves without the interpreter's teardown: torch's process-group
    # threads sometimes aborted it there ("terminate called without an active
    # exception", SIGABRT) after a run that had saved everything, failing the job.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
raise SystemExit(code)
