"""numpy only at chainrule's core: matplotlib and ipywidgets are imported by chainrule.plots and
chainrule.widgets alone, so the numerics (the explorers' included) run and test without them."""

import json
import pkgutil
import subprocess
import sys

import chainrule

#: The modules allowed to import the drawing and widget libraries.
DRAWING = {"chainrule.plots", "chainrule.widgets"}
GUI_PACKAGES = ("matplotlib", "ipywidgets")

SCRIPT = f"""
import importlib, json, sys
loaded = {{}}
for name in sys.argv[1:]:
    importlib.import_module(name)
    loaded[name] = [package for package in {GUI_PACKAGES!r} if package in sys.modules]
print(json.dumps(loaded))
"""


def gui_imports(names: list[str]) -> dict[str, list[str]]:
    """Import ``names`` in order in a fresh interpreter; after each, which of GUI_PACKAGES are
    loaded (so the first module that pulls one in is the first with a non-empty list)."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *names], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def core_modules() -> list[str]:
    return sorted(
        f"chainrule.{info.name}"
        for info in pkgutil.iter_modules(chainrule.__path__)
        if f"chainrule.{info.name}" not in DRAWING
    )


def test_the_numerics_import_neither_matplotlib_nor_ipywidgets():
    names = core_modules()
    # The explorers' numerics are among them.
    assert {"chainrule.least_squares", "chainrule.runs", "chainrule.probe"} <= set(names)
    assert {"chainrule.layers", "chainrule.optim", "chainrule.init"} <= set(names)
    loaded = gui_imports(names)
    assert all(not packages for packages in loaded.values()), loaded


def test_the_check_sees_an_import_of_matplotlib():
    loaded = gui_imports(["chainrule.layers", "chainrule.plots", "chainrule.widgets"])
    assert loaded == {
        "chainrule.layers": [],
        "chainrule.plots": ["matplotlib"],
        "chainrule.widgets": ["matplotlib", "ipywidgets"],
    }
