"""Use cases of the core, one module each; handlers call them, they call the ports."""
