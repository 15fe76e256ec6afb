"""The HTTP service, CLI and composition root of slaclock."""
