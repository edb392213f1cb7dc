"""Exported pairs and unpaired files train TRL's trainers for a step, unchanged."""

import copy

import datasets
import pytest
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
)
from trl import (
    DPOConfig,
    DPOTrainer,
    KTOConfig,
    KTOTrainer,
    RewardConfig,
    RewardTrainer,
)

from annotate.exporting import ExportOptions, export_to_path
from annotate.models import Project
from annotate.services import candidate_create, prompt_create
from annotate.tests.test_exporting import judge
from training.core.models import build_tiny_model

pytestmark = pytest.mark.django_db

# One CPU step, nothing saved or logged. TRL's configs default to bf16 even on CPU
# and to gradient checkpointing; a tiny fp32 model wants neither.
ONE_STEP = {
    "max_steps": 1,
    "per_device_train_batch_size": 4,
    "bf16": False,
    "use_cpu": True,
    "gradient_checkpointing": False,
    "report_to": "none",
    "save_strategy": "no",
    "disable_tqdm": True,
    "dataloader_num_workers": 0,
    "max_length": 128,
}


@pytest.fixture
def files(make_project, annotator, tmp_path):
    """Pairs as JSONL (standard) and unpaired as Parquet (conversational)."""
    project = make_project(k=3, n_prompts=0, members=[annotator])
    for n in range(4):
        prompt, _ = prompt_create(project=project, text=f"Question {n}: name a colour.")
        for name in ("good", "fine", "bad"):
            candidate_create(prompt=prompt, text=f"{name} answer {n}", source=name)
        judge(
            project,
            annotator,
            [["good"], ["fine"], ["bad"]],
            {"good": 7, "fine": 4, "bad": 2},
        )
    pairs, unpaired = tmp_path / "pairs.jsonl", tmp_path / "kto.parquet"
    export_to_path(project=project, options=ExportOptions("pairs"), out=pairs)
    kto = ExportOptions("unpaired", style="conversational")
    export_to_path(project=project, options=kto, out=unpaired)
    return pairs, unpaired


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


def load(path, tmp_path):
    builder = "json" if path.suffix == ".jsonl" else "parquet"
    return datasets.load_dataset(
        builder, data_files=str(path), split="train", cache_dir=str(tmp_path / "hf")
    )


def train_one_step(trainer):
    result = trainer.train()
    assert trainer.state.global_step == 1
    assert result.training_loss == result.training_loss  # not NaN


def test_pairs_train_dpo_and_reward_trainers(files, tiny_model, tmp_path):
    pairs = load(files[0], tmp_path)
    assert len(pairs) == 12 and {"prompt", "chosen", "rejected", "rank_gap"} <= set(
        pairs.column_names
    )
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    policy = AutoModelForCausalLM.from_pretrained(tiny_model)
    dpo = DPOTrainer(
        model=policy,
        # A model built from a config has no hub id to reload as the reference.
        ref_model=copy.deepcopy(policy),
        args=DPOConfig(output_dir=str(tmp_path / "dpo"), **ONE_STEP),
        train_dataset=pairs,
        processing_class=tokenizer,
    )
    train_one_step(dpo)
    scorer = AutoModelForSequenceClassification.from_pretrained(
        tiny_model, num_labels=1
    )
    reward = RewardTrainer(
        model=scorer,
        args=RewardConfig(output_dir=str(tmp_path / "rm"), **ONE_STEP),
        train_dataset=pairs,
        processing_class=tokenizer,
    )
    train_one_step(reward)


def test_unpaired_trains_kto_trainer(files, tiny_model, tmp_path):
    unpaired = load(files[1], tmp_path)
    assert sorted(unpaired["label"]) == [False] * 4 + [True] * 4
    policy = AutoModelForCausalLM.from_pretrained(tiny_model)
    kto = KTOTrainer(
        model=policy,
        ref_model=copy.deepcopy(policy),
        args=KTOConfig(output_dir=str(tmp_path / "kto"), **ONE_STEP),
        train_dataset=unpaired,
        processing_class=AutoTokenizer.from_pretrained(tiny_model),
    )
    train_one_step(kto)


def reward_trainer(path, tiny_model, tmp_path):
    return RewardTrainer(
        model=AutoModelForSequenceClassification.from_pretrained(
            tiny_model, num_labels=1
        ),
        args=RewardConfig(output_dir=str(tmp_path / path.stem), **ONE_STEP),
        train_dataset=load(path, tmp_path),
        processing_class=AutoTokenizer.from_pretrained(tiny_model),
    )


def test_reward_trainer_gets_a_margin_only_when_one_is_exported(
    files, tiny_model, tmp_path
):
    """RewardTrainer subtracts any `margin` column; the default export has none."""
    plain = reward_trainer(files[0], tiny_model, tmp_path)
    assert not any("margin" in batch for batch in plain.get_train_dataloader())
    project = Project.objects.get(slug="tests")
    gapped = tmp_path / "gapped.jsonl"
    options = ExportOptions("pairs", margin="rank-gap")
    export_to_path(project=project, options=options, out=gapped)
    with_margin = reward_trainer(gapped, tiny_model, tmp_path)
    margins = [
        m for b in with_margin.get_train_dataloader() for m in b["margin"].tolist()
    ]
    # good > fine > bad on each of 4 prompts: rank gaps 1, 2 and 1.
    assert sorted(margins) == [1.0] * 8 + [2.0] * 4
    train_one_step(plain)
