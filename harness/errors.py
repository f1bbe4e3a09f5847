"""The one exception type that means "the user asked for something wrong"."""


class UserError(Exception):
    """A bad spec, an unknown name, missing data: reported as one line, exit code 2."""
