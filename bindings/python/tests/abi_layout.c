/*
 * Prints the layout of every public struct the Python binding mirrors, and
 * the constants it copies, as one JSON document: the C compiler's own
 * answer, which tests/test_abi.py compares with the ctypes definitions.
 */
#include <stddef.h>
#include <stdio.h>

#include "vqa/vqa.h"

static int first;

static void begin_struct(const char *name, size_t size, size_t align)
{
    printf("%s\"%s\":{\"size\":%zu,\"align\":%zu,\"fields\":{", first ? "" : ",", name, size,
           align);
    first = 1;
}

static void field(const char *name, size_t offset, size_t size)
{
    printf("%s\"%s\":[%zu,%zu]", first ? "" : ",", name, offset, size);
    first = 0;
}

static void end_struct(void)
{
    fputs("}}", stdout);
    first = 0;
}

#define STRUCT(T) begin_struct(#T, sizeof(T), _Alignof(T)); first = 1
#define FIELD(T, f) field(#f, offsetof(T, f), sizeof(((T *)0)->f))
#define CONST(name) printf(",\"%s\":%lld", #name, (long long)(name))

static void structs(void)
{
    first = 1;
    STRUCT(VqaRational); FIELD(VqaRational, num); FIELD(VqaRational, den); end_struct();
    STRUCT(VqaEvent);
    FIELD(VqaEvent, stream); FIELD(VqaEvent, detector); FIELD(VqaEvent, kind);
    FIELD(VqaEvent, state); FIELD(VqaEvent, t); FIELD(VqaEvent, duration);
    FIELD(VqaEvent, value); FIELD(VqaEvent, has_value); FIELD(VqaEvent, severity);
    FIELD(VqaEvent, details_json); FIELD(VqaEvent, reserved);
    end_struct();
    STRUCT(VqaLogger);
    FIELD(VqaLogger, callback); FIELD(VqaLogger, cookie); FIELD(VqaLogger, level);
    end_struct();
    STRUCT(VqaSettings);
    FIELD(VqaSettings, n_threads); FIELD(VqaSettings, n_io_threads);
    FIELD(VqaSettings, queue_frames); FIELD(VqaSettings, logger); FIELD(VqaSettings, on_event);
    FIELD(VqaSettings, event_cookie); FIELD(VqaSettings, plugin_paths);
    FIELD(VqaSettings, reserved);
    end_struct();
    STRUCT(VqaStreamSettings);
    FIELD(VqaStreamSettings, id); FIELD(VqaStreamSettings, url);
    FIELD(VqaStreamSettings, detectors); FIELD(VqaStreamSettings, decoder_threads);
    FIELD(VqaStreamSettings, video_track); FIELD(VqaStreamSettings, audio_tracks);
    FIELD(VqaStreamSettings, live); FIELD(VqaStreamSettings, push_blocking);
    FIELD(VqaStreamSettings, cost); FIELD(VqaStreamSettings, hwaccel);
    FIELD(VqaStreamSettings, stall_timeout); FIELD(VqaStreamSettings, io_timeout);
    FIELD(VqaStreamSettings, reconnect_max_delay); FIELD(VqaStreamSettings, protocols);
    FIELD(VqaStreamSettings, input_options); FIELD(VqaStreamSettings, reconnect);
    FIELD(VqaStreamSettings, realtime); FIELD(VqaStreamSettings, reserved);
    end_struct();
    STRUCT(VqaPicture);
    FIELD(VqaPicture, pix_fmt); FIELD(VqaPicture, width); FIELD(VqaPicture, height);
    FIELD(VqaPicture, range); FIELD(VqaPicture, data); FIELD(VqaPicture, linesize);
    FIELD(VqaPicture, pts); FIELD(VqaPicture, time_base); FIELD(VqaPicture, flags);
    FIELD(VqaPicture, free_cb); FIELD(VqaPicture, opaque); FIELD(VqaPicture, reserved);
    end_struct();
    STRUCT(VqaSamples);
    FIELD(VqaSamples, sample_fmt); FIELD(VqaSamples, sample_rate); FIELD(VqaSamples, channels);
    FIELD(VqaSamples, nb_samples); FIELD(VqaSamples, planes); FIELD(VqaSamples, track);
    FIELD(VqaSamples, pts); FIELD(VqaSamples, time_base); FIELD(VqaSamples, free_cb);
    FIELD(VqaSamples, opaque); FIELD(VqaSamples, reserved);
    end_struct();
    STRUCT(VqaStreamStats);
    FIELD(VqaStreamStats, packets_read); FIELD(VqaStreamStats, frames_decoded);
    FIELD(VqaStreamStats, frames_analysed); FIELD(VqaStreamStats, frames_dropped);
    FIELD(VqaStreamStats, decode_errors); FIELD(VqaStreamStats, events);
    FIELD(VqaStreamStats, media_time); FIELD(VqaStreamStats, duration);
    FIELD(VqaStreamStats, finished); FIELD(VqaStreamStats, state);
    FIELD(VqaStreamStats, reconnects); FIELD(VqaStreamStats, latency);
    FIELD(VqaStreamStats, reserved);
    end_struct();
    STRUCT(VqaDetectorStats);
    FIELD(VqaDetectorStats, name); FIELD(VqaDetectorStats, track); FIELD(VqaDetectorStats, type);
    FIELD(VqaDetectorStats, frames_analysed); FIELD(VqaDetectorStats, frames_dropped);
    FIELD(VqaDetectorStats, cpu_seconds); FIELD(VqaDetectorStats, media_time);
    FIELD(VqaDetectorStats, reserved);
    end_struct();
    STRUCT(VqaOption);
    FIELD(VqaOption, name); FIELD(VqaOption, help); FIELD(VqaOption, unit);
    FIELD(VqaOption, type); FIELD(VqaOption, offset); FIELD(VqaOption, default_num);
    FIELD(VqaOption, default_str); FIELD(VqaOption, min); FIELD(VqaOption, max);
    FIELD(VqaOption, flags); FIELD(VqaOption, reserved);
    end_struct();
    STRUCT(VqaInputSpec);
    FIELD(VqaInputSpec, type); FIELD(VqaInputSpec, pix_fmt); FIELD(VqaInputSpec, max_width);
    FIELD(VqaInputSpec, max_height); FIELD(VqaInputSpec, max_rate_hz);
    FIELD(VqaInputSpec, sample_fmt); FIELD(VqaInputSpec, sample_rate);
    FIELD(VqaInputSpec, channels);
    end_struct();
    STRUCT(VqaDetectorClass);
    FIELD(VqaDetectorClass, struct_size); FIELD(VqaDetectorClass, name);
    FIELD(VqaDetectorClass, description); FIELD(VqaDetectorClass, kinds);
    FIELD(VqaDetectorClass, flags); FIELD(VqaDetectorClass, priv_size);
    FIELD(VqaDetectorClass, options); FIELD(VqaDetectorClass, input);
    FIELD(VqaDetectorClass, init); FIELD(VqaDetectorClass, process);
    FIELD(VqaDetectorClass, flush); FIELD(VqaDetectorClass, close);
    FIELD(VqaDetectorClass, input2);
    end_struct();
    STRUCT(VqaPluginInfo);
    FIELD(VqaPluginInfo, path); FIELD(VqaPluginInfo, name); FIELD(VqaPluginInfo, version);
    FIELD(VqaPluginInfo, license); FIELD(VqaPluginInfo, description);
    FIELD(VqaPluginInfo, abi_minor); FIELD(VqaPluginInfo, nb_detectors);
    FIELD(VqaPluginInfo, detectors);
    end_struct();
    STRUCT(VqaPluginFailure);
    FIELD(VqaPluginFailure, path); FIELD(VqaPluginFailure, status);
    FIELD(VqaPluginFailure, reason);
    end_struct();
}

static void constants(void)
{
    printf("\"API_VERSION_MAJOR\":%d", VQA_API_VERSION_MAJOR);
    CONST(VQA_API_VERSION_MINOR); CONST(VQA_API_VERSION_PATCH);
    CONST(VQA_ERROR_EOF); CONST(VQA_ERROR_INVALID_DATA); CONST(VQA_ERROR_PLUGIN_ABI);
    CONST(VQA_ERROR_DETECTOR); CONST(VQA_ERROR_STOPPED);
    CONST(VQA_LOG_NONE); CONST(VQA_LOG_ERROR); CONST(VQA_LOG_WARNING); CONST(VQA_LOG_INFO);
    CONST(VQA_LOG_DEBUG); CONST(VQA_LOG_TRACE);
    CONST(VQA_MEDIA_NONE); CONST(VQA_MEDIA_VIDEO); CONST(VQA_MEDIA_AUDIO);
    CONST(VQA_PIX_NONE); CONST(VQA_PIX_GRAY8); CONST(VQA_PIX_YUV420P); CONST(VQA_PIX_YUV422P);
    CONST(VQA_PIX_YUV444P); CONST(VQA_PIX_NV12); CONST(VQA_PIX_RGB24); CONST(VQA_PIX_RGBA);
    CONST(VQA_SAMPLE_NONE); CONST(VQA_SAMPLE_S16); CONST(VQA_SAMPLE_S32); CONST(VQA_SAMPLE_FLT);
    CONST(VQA_SAMPLE_S16P); CONST(VQA_SAMPLE_S32P); CONST(VQA_SAMPLE_FLTP);
    CONST(VQA_RANGE_UNSPECIFIED); CONST(VQA_RANGE_LIMITED); CONST(VQA_RANGE_FULL);
    CONST(VQA_FRAME_KEY); CONST(VQA_FRAME_CORRUPT); CONST(VQA_FRAME_DISCONTINUITY);
    CONST(VQA_EVENT_CONTRACT_VERSION);
    CONST(VQA_EVENT_START); CONST(VQA_EVENT_END); CONST(VQA_EVENT_INSTANT);
    CONST(VQA_SEVERITY_INFO); CONST(VQA_SEVERITY_WARNING); CONST(VQA_SEVERITY_ERROR);
    CONST(VQA_OPT_NONE); CONST(VQA_OPT_BOOL); CONST(VQA_OPT_INT); CONST(VQA_OPT_DOUBLE);
    CONST(VQA_OPT_STRING); CONST(VQA_OPT_FLAG_DEPRECATED); CONST(VQA_DETECTOR_TEMPORAL);
    CONST(VQA_TRACKS_ALL); CONST(VQA_TRACK_FIRST); CONST(VQA_TRACK_NONE);
    CONST(VQA_RECONNECT_FOREVER);
    CONST(VQA_COST_FULL); CONST(VQA_COST_LIGHT); CONST(VQA_COST_KEYFRAMES);
    CONST(VQA_INPUT_OPENING); CONST(VQA_INPUT_RUNNING); CONST(VQA_INPUT_STALLED);
    CONST(VQA_INPUT_RECONNECTING); CONST(VQA_INPUT_ENDED);
}

int main(void)
{
    fputs("{\"structs\":{", stdout);
    structs();
    fputs("},\"constants\":{", stdout);
    constants();
    puts("}}");
    return 0;
}
