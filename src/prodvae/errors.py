"""Errors that any layer may raise, kept low in the package so that nothing imports upward."""


class UserError(Exception):
    """An error caused by the user's input: printed as one line, exit status 2."""
