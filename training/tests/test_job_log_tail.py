"""The round page's log tail: warnings and trainer lines, never progress-bar redraws."""

import logging
from types import SimpleNamespace

from celery.utils.log import LoggingProxy
from tqdm import tqdm

from training.jobs import JobReporter


def reporter() -> JobReporter:
    run = SimpleNamespace(history=[], progress=0.0, message="")
    return JobReporter(run)  # type: ignore[arg-type]


def test_a_workers_stderr_keeps_its_warnings_but_not_tqdm_redraws():
    tail = reporter()
    # What a Celery worker does with stderr: each write becomes a WARNING record.
    logger = logging.getLogger("celery.redirected")
    logger.addHandler(tail)
    try:
        stderr = LoggingProxy(logger, loglevel=logging.WARNING)
        for _ in tqdm(range(3), desc="generate", file=stderr, mininterval=0):
            pass
        with tqdm(desc="annotating", unit="task", file=stderr, mininterval=0) as bar:
            bar.update(2)
            bar.set_postfix(loss="0.1234")
        print("Some weights were not initialized from the checkpoint", file=stderr)
    finally:
        logger.removeHandler(tail)
    assert [line.split(" ", 2)[2] for line in tail.lines] == [
        "WARNING Some weights were not initialized from the checkpoint"
    ]


def test_a_launched_trainers_log_keeps_its_lines_but_not_bar_redraws():
    tail = reporter()
    for line in [
        "$ torchrun --nproc-per-node 2 -m training dpo",
        "dpo:  40%|████      | 2/5 [00:01<00:01,  2.00it/s, loss=0.6931]",
        "dpo:   0%|          | 0/5 [00:00<?, ?it/s]",
        "annotating: 12task [00:03, 3.97task/s]",
        "step 3/10: loss 0.52 [bf16 autocast]",
    ]:
        tail.log_line(line)
    assert list(tail.lines) == [
        "$ torchrun --nproc-per-node 2 -m training dpo",
        "step 3/10: loss 0.52 [bf16 autocast]",
    ]
