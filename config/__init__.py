"""Built-in configuration of docgraph: the default `docgraph.yaml` and the page templates.

Installed as the package `docgraph_config` so that the `docgraph` command finds its defaults
without a checkout of the project.
"""
