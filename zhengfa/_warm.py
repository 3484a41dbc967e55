"""Importing this module loads the text stages' dictionaries. The worker pool's server process
preloads it, so every worker forked from it starts with them loaded (shared, copy-on-write)."""
from zhengfa import parallel

parallel.warm()
