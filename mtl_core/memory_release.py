"""Hand freed heap memory back to the operating system between run stages.

glibc's allocator keeps freed blocks for reuse, so after a stage frees its large
arrays the process stays larger than it needs to be (about 50 MB in one measured
1M-row run), and the next stage's peak adds to that. ``malloc_trim`` releases
those blocks. pyarrow allocates from its own pool (the loaded frame's columns and
the text conversions of feature selection), which keeps freed memory the same way
until ``release_unused`` is called.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

import pyarrow

logger = logging.getLogger(__name__)


@functools.cache
def _malloc_trim():
    """Return glibc's malloc_trim, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError) as error:
        logger.debug("malloc_trim unavailable (%s); freed memory stays cached", error)
        return None


def release_free_memory() -> None:
    """Return freed memory of glibc and of pyarrow's pool to the system."""
    pyarrow.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
