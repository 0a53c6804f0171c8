"""Real-browser tests: JupyterLab on a copy of lectures/, driven by Debian's Chromium."""
