"""Trusted grading: run autograded tests in a process that never runs student code.

:func:`grader.trusted.recheck.run_submission` runs a submission's cells once, in a sandbox
child process (:mod:`grader.trusted.sandbox`, inside bubblewrap: :mod:`grader.trusted.isolation`)
and each test cell of the source notebook in the grader,
reaching the student's objects only through proxies (:mod:`grader.trusted.proxy`) and data
decoded without pickle (:mod:`grader.trusted.protocol`). grader/SECURITY.md gives the threat
model. This package file imports nothing, so that the sandbox child starts fast.
"""
