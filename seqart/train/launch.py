"""``seqart train --nproc N``: start N training processes with torchrun on this machine."""

from __future__ import annotations

import subprocess
import sys

from seqart.errors import SeqartError


def torchrun_command(nproc: int, seqart_args: list[str]) -> list[str]:
    """The torchrun command line that runs ``seqart <seqart_args>`` in ``nproc`` processes
    on this machine (``--standalone``: a local rendezvous on a free port).

    For several machines, run torchrun yourself on each, e.g.::

        torchrun --nnodes=2 --node_rank=0 --nproc_per_node=8 \\
            --rdzv_backend=c10d --rdzv_endpoint=HOST:29400 --rdzv_id=job1 -m seqart train ...
    """
    if not 1 <= nproc <= 1024:
        raise SeqartError(f"nproc must be 1-1024, got {nproc}")
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
            "-m", "seqart", *seqart_args]


def launch_torchrun(nproc: int, seqart_args: list[str]) -> int:
    """Run :func:`torchrun_command` and return its exit status."""
    try:
        return subprocess.call(torchrun_command(nproc, seqart_args))
    except KeyboardInterrupt:
        return 130
