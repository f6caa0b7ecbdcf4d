"""The base of every error a user can cause and fix: a command prints it as one line."""


class UserError(RuntimeError):
    """Something the person at the keyboard can fix; its message says how."""
