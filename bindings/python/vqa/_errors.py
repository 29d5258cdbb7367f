"""The exception libvqa's failures raise."""
import errno
import os


class VqaError(Exception):
    """A libvqa call failed.

    code      the library's negative error code (VQA_ERR(errno) or a named
              VQA_ERROR_* code), e.g. -errno.EINVAL
    strerror  vqa_strerror(code): the library's text for it
    reason    what went wrong in words (the library's own message when it
              gave one, e.g. why a detector spec was refused), or None
    """

    def __init__(self, code, reason=None, strerror=None):
        self.code = int(code)
        self.strerror = strerror or _fallback_strerror(self.code)
        self.reason = reason
        super().__init__(str(self))

    def __str__(self):
        if self.reason:
            return "%s (%s, code %d)" % (self.reason, self.strerror, self.code)
        return "%s (code %d)" % (self.strerror, self.code)

    def __reduce__(self):
        return (type(self), (self.code, self.reason, self.strerror))


def _fallback_strerror(code):
    """Text for a code when no library is at hand (vqa_strerror is preferred)."""
    if -4096 < code < 0:
        return os.strerror(-code).lower()
    return "unknown error"


EINVAL = -errno.EINVAL
EAGAIN = -errno.EAGAIN
ETIMEDOUT = -errno.ETIMEDOUT
ERANGE = -errno.ERANGE
