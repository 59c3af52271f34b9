"""Sub-commands of the ``prodvae`` CLI, one module each (see :mod:`prodvae.cli`)."""
