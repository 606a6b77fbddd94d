/*
 * volta — one binary: `volta serve` runs the server, every other command is an operator tool.
 * This file only dispatches; see cli.h.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/faultinj.h"

static const cli_command commands[] = {
    {"version", "print volta's version", cmd_version},
    /* CLI-COMMAND-TABLE */
    {"query", "run InfluxQL or Flux on a server or a data directory", cmd_query},
    {"serve", "run the server (HTTP API, journal, native engine)", cmd_serve},
    {"lp", "line protocol tools: lp parse", cmd_lp},
    {"gen", "generate ONS-shaped demo data as line protocol", cmd_gen},
    {"verify", "check every journal record and segment block of a data directory", cmd_verify},
    {"export", "write a database as line protocol or JSON (optionally gzip)", cmd_export},
    {"import", "load line protocol or JSON exports in batches (volta export's formats)", cmd_import},
    {"load", "load ONS CSV and line-protocol files exactly once (the ledger)", cmd_load},
    {"resync", "find and repair what a backup backend is missing", cmd_resync},
    {"status", "the server's health, replication lag and landing zone, for a person", cmd_status},
    {"snapshot", "consistent snapshots in constant time: create, list, delete", cmd_snapshot},
    {"backup", "full and incremental backups into a repository; list, verify, expire", cmd_backup},
    {"restore", "restore a snapshot or backup into a new data directory or a live database",
     cmd_restore},
    {"check", "integrity checks: checksums, duplicates, nulls, ledger counts, backends", cmd_check},
    {"flags", "feature flags: list, get, set, history, revert (versioned)", cmd_flags},
    {"keys", "API keys: create, list, revoke", cmd_keys},
    {"ratelimit", "rate limits, global and per key, changed at run time", cmd_ratelimit},
    {"rollback", "emergency rollback of reads to the backup backend (resumable)", cmd_rollback},
    {"rollforward", "return reads to the primary once it is healthy and caught up", cmd_rollforward},
    {"validate", "the post-rollback checklist, one line per item", cmd_validate},
    {"ask", "answer a question in plain language (Portuguese or English)", cmd_ask},
    {"recover", "recover a failed or missing primary from its newest snapshot or backup",
     cmd_recover},
    {"drill", "disaster-recovery drills with real faults; RTO, RPO and correctness report",
     cmd_drill},
    {"repair", "rebuild the series and time range of corrupt blocks from a backup or the journal", cmd_repair},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: volta <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`volta <command> --help` describes a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(1, argv + 1);
    vt_fault_from_env();
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "volta: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
