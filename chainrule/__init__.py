"""chainrule: the small reference module of a course on how neural networks are trained.

Submodules: ``functional`` (activations, softmax, losses and their derivatives), ``compare``
(comparing a result with its reference: the worst entry and the likely mistake), ``gradcheck``
(finite differences and gradient checks), ``layers`` (fprop/bprop modules), ``init``,
``regularizers``, ``optim``, ``train``, ``data``, ``search``; ``checks`` (the assertions of the
notebooks' tests) and ``hidden`` (the generator of hidden tests' inputs); the explorers'
numbers: ``least_squares`` and ``runs`` (learning rate), ``probe`` (initialization); ``plots``
and ``widgets`` for the notebooks, the only ones that import matplotlib or ipywidgets.
"""

__version__ = "0.1.0"
