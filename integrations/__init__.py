"""Built-in framework integrations, each a plugin implementing ``autolog_register_integrations``."""
