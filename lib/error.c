/*
 * Error codes to text.
 */
#include <string.h>

#include "vqa/common.h"

const char *vqa_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case VQA_ERROR_EOF: return "end of stream";
    case VQA_ERROR_INVALID_DATA: return "invalid data: not media, or damaged beyond use";
    case VQA_ERROR_PLUGIN_ABI: return "plugin built for another ABI";
    case VQA_ERROR_DETECTOR: return "detector failed";
    case VQA_ERROR_STOPPED: return "stopped";
    }
    if (err < 0 && err > -4096) {
        /* strerror is not thread-safe in general, but glibc returns static
         * strings for known codes; fall back on a fixed text otherwise. */
        switch (-err) {
        case EINVAL: return "invalid argument";
        case ENOMEM: return "out of memory";
        case ENOENT: return "no such file or directory";
        case EAGAIN: return "resource temporarily unavailable";
        case ETIMEDOUT: return "timed out";
        case EIO: return "input/output error";
        case EACCES: return "permission denied";
        case ENOSYS: return "not implemented";
        case EPIPE: return "broken pipe";
        case ECONNREFUSED: return "connection refused";
        case EHOSTUNREACH: return "host unreachable";
        case EPROTO: return "protocol error";
        case ECANCELED: return "cancelled";
        case EBUSY: return "busy";
        case ERANGE: return "value out of range";
        default: return "system error";
        }
    }
    return "unknown error";
}
