# The quecsim fixture comes from the plugin in python/quecsim (python/ on PYTHONPATH).
pytest_plugins = ["quecsim.pytest_plugin"]
