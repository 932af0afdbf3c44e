"""Multi-node data-parallel training (`training.nodes` > 1): where the ranks of a Metaflow `@parallel` step meet, and
the Lightning Trainer's arguments for it, and the check that they all ended with the same weights. No Metaflow here:
training.py and flow.py use it; Lightning is imported only by trainer_arguments, on a rank that trains."""

import hashlib
from dataclasses import dataclass

from ..errors import ProjectError

PORT_BASE, PORT_SPAN = 51000, 10000  # as Metaflow's @pytorch_parallel: a port from the run id, so runs rarely collide


class RanksMissing(ProjectError):
    """A rank waited `training.meet_timeout_s` for the others to meet and not all came: a node that did not start, or
    that cannot reach the main node's address and port."""

    headline = "Data-parallel ranks did not meet"


class RanksDisagree(ProjectError):
    """The ranks of a data-parallel training ended with different weights: no rank's network can be trusted."""

    headline = "Data-parallel ranks disagree"


@dataclass(frozen=True)
class Rendezvous:
    """One rank's place in the group: the main node's address and port, how many nodes, and this node's rank."""

    main_address: str
    main_port: int
    num_nodes: int
    node_rank: int

    def env(self) -> dict[str, str]:
        """The torch.distributed environment these values stand for (logged; a launcher like torchrun sets it)."""
        return {
            "MASTER_ADDR": self.main_address,
            "MASTER_PORT": str(self.main_port),
            "WORLD_SIZE": str(self.num_nodes),
            "NODE_RANK": str(self.node_rank),
        }


def rendezvous(parallel, run_id: str, port: int | None = None) -> Rendezvous:
    """From Metaflow's `current.parallel` (main_ip, num_nodes, node_index): one process per node, rank = node index.
    The port is `port`, or derived from the run id (the same on every node of the run without any exchange)."""
    if port is None:
        digits = int(run_id) if str(run_id).isdigit() else int(hashlib.sha256(str(run_id).encode()).hexdigest(), 16)
        port = PORT_BASE + digits % PORT_SPAN
    return Rendezvous(parallel.main_ip, port, parallel.num_nodes, parallel.node_index)


def backend(accelerator: str) -> str:
    """torch.distributed's backend: NCCL between GPUs, Gloo between CPUs."""
    return "nccl" if accelerator == "gpu" else "gloo"


def agreed_weights(shas: dict[int, str]) -> str:
    """The one weights hash every rank (node index -> sha256) ended with; RanksDisagree if they differ."""
    if len(set(shas.values())) != 1:
        listed = ", ".join(f"rank {rank}: {sha[:12]}" for rank, sha in sorted(shas.items()))
        raise RanksDisagree(
            f"the {len(shas)} ranks ended with different weights ({listed}); DDP keeps replicas in step, so a rank "
            "trained on other settings, code or data: nothing is evaluated or packaged"
        )
    return next(iter(shas.values()))


def trainer_arguments(group: Rendezvous, accelerator: str, timeout_s: int) -> dict:
    """Trainer arguments for data parallelism across `group.num_nodes` processes, one device each, that meet at the
    given address (the processes are started by Metaflow's @parallel, not by Lightning). Lightning gives each rank
    its shard of the training batches (a DistributedSampler) and DDP averages the gradients, so the replicas stay
    identical."""
    from datetime import timedelta

    from lightning.fabric.plugins.environments import ClusterEnvironment
    from lightning.fabric.utilities.rank_zero import rank_zero_only
    from lightning.pytorch.strategies import DDPStrategy

    class Meeting(ClusterEnvironment):
        """The rendezvous as given: no environment variables to read, and no processes for Lightning to start."""

        creates_processes_externally = True
        main_address, main_port = group.main_address, group.main_port
        _rank, _size = group.node_rank, group.num_nodes

        @staticmethod
        def detect() -> bool:
            return True

        def world_size(self) -> int:
            return self._size

        def set_world_size(self, size: int) -> None:
            self._size = size

        def global_rank(self) -> int:
            return self._rank

        def set_global_rank(self, rank: int) -> None:
            self._rank = rank_zero_only.rank = rank

        def local_rank(self) -> int:
            return 0

        def node_rank(self) -> int:
            return group.node_rank

    strategy = DDPStrategy(
        cluster_environment=Meeting(), process_group_backend=backend(accelerator), timeout=timedelta(seconds=timeout_s)
    )
    return {"strategy": strategy, "num_nodes": group.num_nodes}
