"""Instructor tooling of the chainrule course, built on nbgrader's own API and configuration.

``python -m grader --help`` lists the commands (release, check, collect, autograde, feedback,
export).
"""

import sys

# jsonschema, imported by nbformat, builds an Earley parser of RFC 3987 at import time when the
# optional package rfc3987-syntax is installed (jupyter-events pulls it in): 2.4 s of CPU in every
# process that imports nbformat. The grader never checks the "iri" formats of a JSON schema, so
# its processes import jsonschema without it (an import of a None module raises ImportError,
# which jsonschema handles by leaving those formats unchecked).
sys.modules.setdefault("rfc3987_syntax", None)
