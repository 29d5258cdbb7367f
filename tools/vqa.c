/*
 * vqa — the command-line tool of libvqa: `vqa scan`, `vqa plugins`, `vqa monitor`.
 * See docs/cli.md for the reference.
 */
#include <errno.h>
#include <stdio.h>

#include "vqa_tool.h"

int main(int argc, char **argv)
{
    ToolOptions opts;
    int ret = cli_parse(&opts, argc, argv);
    if (ret == -ENOMEM) {
        fputs("vqa: out of memory\n", stderr);
        ret = TOOL_EXIT_INPUT;
    } else if (ret == 0) {
        tool_route_libav_log(opts.log_level);
        switch (opts.command) {
        case TOOL_CMD_HELP:
            cli_print_help(stdout);
            break;
        case TOOL_CMD_VERSION:
            printf("vqa %s\n", vqa_version());
            break;
        case TOOL_CMD_SCAN:
            ret = cmd_scan(&opts);
            break;
        case TOOL_CMD_PLUGINS:
            ret = cmd_plugins(&opts);
            break;
        case TOOL_CMD_MONITOR:
            ret = cmd_monitor(&opts);
            break;
        default:
            ret = TOOL_EXIT_USAGE;
            break;
        }
    }
    cli_free(&opts);
    return ret;
}
