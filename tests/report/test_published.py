"""The published numbers: transcribed once each, resolvable activations, known tasks, citations."""

import dataclasses
import re
from collections import Counter

import pytest

from gatelab.registry import resolve
from gatelab.report.published import METRICS, PUBLISHED, Published, from_accuracy, published_for
from gatelab.tasks import TASKS

# Every result number of the reference notes (GELU paper §3.3–3.5, GEM abstract, He et al.
# Table 6), typed again by hand from the papers' text.
EXPECTED_VALUES = [
    12.57, 12.67, 12.91,  # Twitter POS, GELU / ReLU / ELU
    29.3, 29.5, 29.6,  # TIMIT
    7.89, 8.16, 8.41,  # CIFAR-10 shallow CNN
    20.74, 21.77, 22.98, 22.89,  # CIFAR-100 WRN 40-4 (+ the original ReLU WRN)
    99.23,  # GEM: MNIST E-GEM
    92.51, 92.44,  # GEM: CIFAR-10 ResNet-56 SE-GEM, GELU
    6.10, 2.12, 0.62,  # GEM: CIFAR-100 deficits
    72.57, 73.32, 73.76,  # GEM: GPT-2 perplexity
    6.656,  # GEM: BERT-small validation loss
    93.03,  # He et al. ResNet-56 on CIFAR-10
]  # fmt: skip


def canonical(activation):
    spec, params = resolve(activation)
    return spec.format(params)


def find(task, activation, metric):
    hits = [
        p
        for p in PUBLISHED
        if p.task == task and canonical(p.activation) == canonical(activation)
        and p.metric == metric
    ]  # fmt: skip
    assert len(hits) == 1, hits
    return hits[0]


def test_every_published_number_appears_exactly_once():
    assert Counter(p.value for p in PUBLISHED) == Counter(EXPECTED_VALUES)


def test_a_few_numbers_by_hand():
    assert find("twitter-pos", "gelu_tanh", "test_error_pct").value == 12.57
    assert find("timit", "elu", "test_error_pct").value == 29.6
    assert find("cifar100-wrn40-4", "gelu_tanh", "test_error_pct").value == 20.74
    assert find("cifar10-resnet56", "se_gem(eps=1e-4)", "test_accuracy_pct").value == 92.51
    assert find("cifar10-resnet56", "gelu", "test_accuracy_pct").value == 92.44
    assert find("cifar100-resnet56", "gem(N=2)", "deficit_vs_gelu_pts").value == 6.10
    assert find("cifar100-resnet56", "gem", "deficit_vs_gelu_pts").value == 2.12
    bert = find(None, "e_gem(eps=10)", "val_loss")
    assert bert.value == 6.656 and "BERT" in bert.setting


def test_the_gelu_paper_is_recorded_with_the_tanh_approximation():
    gelu_paper = [p for p in PUBLISHED if "1606.08415" in p.citation]
    assert {canonical(p.activation) for p in gelu_paper} == {"gelu_tanh", "relu", "elu"}


def test_every_activation_resolves_and_every_task_is_registered():
    for entry in PUBLISHED:
        resolve(entry.activation)  # raises on a name or parameter the registry does not know
        assert entry.task is None or entry.task in TASKS, entry
        assert entry.metric in METRICS, entry


def test_every_entry_has_a_full_citation():
    for entry in PUBLISHED:
        assert re.search(r"arXiv:\d{4}\.\d{5}", entry.citation), entry
        assert re.search(r"§|Table|abstract", entry.citation), entry
        assert entry.paper and entry.setting


def test_no_two_entries_describe_the_same_result():
    keys = [(p.citation, p.setting, canonical(p.activation), p.metric) for p in PUBLISHED]
    assert len(set(keys)) == len(keys)


def test_published_for_selects_by_task():
    resnet = published_for("cifar10-resnet56")
    assert [(p.activation, p.value) for p in resnet] == [
        ("se_gem(eps=1e-4)", 92.51), ("gelu", 92.44), ("relu", 93.03),
    ]  # fmt: skip
    assert len(published_for("cifar100-wrn40-4")) == 4
    assert published_for("mnist-mlp") == [] and published_for("no-such-task") == []


def test_entries_are_frozen_and_know_their_direction():
    entry = PUBLISHED[0]
    assert isinstance(entry, Published)
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.value = 0.0
    assert not entry.higher_is_better  # a test error
    assert find("cifar10-resnet56", "gelu", "test_accuracy_pct").higher_is_better


def test_from_accuracy_converts_to_the_published_units():
    assert from_accuracy(0.9211, "test_error_pct") == pytest.approx(7.89)
    assert from_accuracy(0.9251, "test_accuracy_pct") == pytest.approx(92.51)
    with pytest.raises(ValueError, match="perplexity.*test_error_pct"):
        from_accuracy(0.9, "perplexity")
