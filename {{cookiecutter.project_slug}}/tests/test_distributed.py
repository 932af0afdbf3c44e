"""training.nodes: where the ranks of a data-parallel training meet, the check that they agree, and the settings it
refuses before any training."""

from collections import namedtuple

import pytest
import yaml

from {{ cookiecutter.module_name }}.config import ConfigError, parse
from {{ cookiecutter.module_name }}.pipeline.distributed import (
    PORT_BASE,
    PORT_SPAN,
    RanksDisagree,
    RanksMissing,
    Rendezvous,
    agreed_weights,
    backend,
    rendezvous,
)

from .conftest import ROOT

Parallel = namedtuple("Parallel", "main_ip num_nodes node_index control_task_id")  # as Metaflow's current.parallel


def _raw(**training):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["training"] |= training
    return raw


def test_each_rank_meets_at_the_main_node_with_its_node_index_as_rank():
    ranks = [rendezvous(Parallel("10.0.0.7", 3, index, "t1"), "1732600000123", None) for index in range(3)]
    assert [r.node_rank for r in ranks] == [0, 1, 2]
    assert {(r.main_address, r.main_port, r.num_nodes) for r in ranks} == {("10.0.0.7", ranks[0].main_port, 3)}
    assert ranks[1].env() == {
        "MASTER_ADDR": "10.0.0.7",
        "MASTER_PORT": str(ranks[0].main_port),
        "WORLD_SIZE": "3",
        "NODE_RANK": "1",
    }


def test_the_port_is_the_configured_one_or_derived_from_the_run_id():
    main = Parallel("127.0.0.1", 2, 0, "t1")
    assert rendezvous(main, "1732600000123", 29500).main_port == 29500
    assert rendezvous(main, "1732600000123", None).main_port == PORT_BASE + 1732600000123 % PORT_SPAN
    ports = {rendezvous(main, run_id, None).main_port for run_id in ("argo-abc", "argo-abd", "1", "2")}
    assert len(ports) == 4 and all(PORT_BASE <= port < PORT_BASE + PORT_SPAN for port in ports)
    assert rendezvous(main, "argo-abc", None) == rendezvous(main, "argo-abc", None)  # every node derives the same


def test_gloo_between_cpus_and_nccl_between_gpus():
    assert backend("cpu") == "gloo" and backend("gpu") == "nccl"


def test_ranks_with_the_same_weights_agree_and_any_difference_fails_closed():
    assert agreed_weights({0: "a" * 64, 1: "a" * 64}) == "a" * 64
    with pytest.raises(RanksDisagree, match=r"the 2 ranks ended with different weights \(rank 0: aaaa.*rank 1: bbbb"):
        agreed_weights({1: "b" * 64, 0: "a" * 64})


def test_nodes_default_to_one_and_must_be_positive():
    assert parse(yaml.safe_dump(_raw()))["training"]["nodes"] == 1
    with pytest.raises(ConfigError, match="training.nodes"):
        parse(yaml.safe_dump(_raw(nodes=0)))
    with pytest.raises(ConfigError, match="training.master_port"):
        parse(yaml.safe_dump(_raw(nodes=2, master_port=80)))


def test_nodes_with_a_sweep_are_refused_at_start_up():
    with pytest.raises(ConfigError, match="training.nodes > 1 with training.sweep: a sweep trains each candidate"):
        parse(yaml.safe_dump(_raw(nodes=2, sweep={"grid": {"training.learning_rate": [0.01, 0.02]}})))


def test_a_rank_whose_peers_never_come_fails_after_meet_timeout_s(params):
    """Rank 0 of 2 alone: the step fails with what it waited for and where, instead of holding its node for ever."""
    import os
    import socket

    import numpy as np
    import torch

    from {{ cookiecutter.module_name }}.pipeline.training import fit

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = params.training.model_copy(update={"meet_timeout_s": 2, "max_epochs": 1, "accelerator": "cpu"})
    x, y = np.zeros((8, 3), dtype="float32"), np.zeros(8, dtype="int64")
    environ = dict(os.environ)  # Lightning exports the meeting point (MASTER_ADDR, ...) into the environment
    try:
        with pytest.raises(RanksMissing, match=rf"rank 0 of 2 waited 2 s at 127.0.0.1:{port} for the others"):
            fit(torch.nn.Linear(3, 2), (x, y), (x, y), cfg, 0, Rendezvous("127.0.0.1", port, 2, 0))
    finally:
        os.environ.clear()
        os.environ.update(environ)
