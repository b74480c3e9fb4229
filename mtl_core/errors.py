"""Exception hierarchy of mtl_core: every message names the thing and the fix."""


class MtlError(Exception):
    """Base class of the errors that mtl_core raises on purpose."""


class InputError(MtlError):
    """Invalid input: a file, column, value or setting that the user can fix.

    The message is one line that names the file, column or value and the fix.
    """


class RunCancelled(MtlError):
    """The progress callback asked to stop the run before it finished."""
