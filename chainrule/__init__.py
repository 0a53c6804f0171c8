"""chainrule: the small reference module of a course on how neural networks are trained.

Submodules: ``functional`` (activations, softmax, losses and their derivatives), ``gradcheck``
(finite differences and gradient checks), ``layers`` (fprop/bprop modules), ``init``,
``regularizers``, ``optim``, ``train``, ``data``; ``hidden`` (the generator of hidden
tests' inputs); ``plots`` and ``widgets`` for the notebooks.
"""

__version__ = "0.1.0"
