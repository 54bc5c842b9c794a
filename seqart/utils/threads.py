"""Holding NumPy's BLAS to one thread while sampling.

Sampling runs batch-1 matrix products a few hundred wide, one per step: far too
small to gain from a second thread, and when the other cores are busy (a DAW
playing, a training run) a multi-threaded BLAS waits for a core at every step:
on a 2-core machine kept busy by two other processes, ``seqart sample`` took up
to 7 s instead of 0.6 s. One thread makes it independent of a free core.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Within the block, BLAS libraries loaded by NumPy (OpenBLAS, MKL, BLIS) use one thread;
    their settings are restored afterwards. Costs about 10 ms (it lists the loaded libraries)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
