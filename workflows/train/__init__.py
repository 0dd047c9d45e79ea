"""``b2dark train``: background-suppression networks trained with the Punzi loss (or cross-entropy).

dataset (the training table and the event-number split), fom (hard-cut Punzi FOM), punzi (the loss and the
PyTorch training), artefact (the versioned JSON the processors read with ``processors/mva.py``), cli.
Only ``punzi`` and ``artefact.library_versions`` import torch (``pip install 'b2dark[train]'``).
"""
