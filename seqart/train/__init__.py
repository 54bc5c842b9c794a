"""The one trainer (:mod:`.trainer`), its settings (:mod:`.config`), and data-parallel
training through DistributedDataParallel (:mod:`.distributed`, :mod:`.sync_batchnorm`,
:mod:`.launch`). Training a preset on a corpus is :func:`seqart.workflows.train.train`."""
