"""Built-in backends, each a plugin implementing ``autolog_backend(uri, config)``."""
