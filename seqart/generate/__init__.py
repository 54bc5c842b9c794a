"""What every sampler shares: the generation protocol (:mod:`.protocol`), the musical
constraints (:mod:`.constraints`), the melody grammar walker (:mod:`.melody`) and the
image writers (:mod:`.writers`).

The samplers themselves live with their model families
(``seqart/models/<family>/sampler.py``); :func:`seqart.load` returns the right one.
"""
