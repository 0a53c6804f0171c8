"""Instructor tooling of the chainrule course, built on nbgrader's own API and configuration.

``python -m grader --help`` lists the commands (release, check, collect, autograde, feedback,
export).
"""
