/*
 * cli/cli.h — the command-line front-ends. One file per command group (cmd_<name>.c), each a thin
 * layer over the library: parse options, call, print, map vt_rc to an exit code.
 * Every command answers --help (exit 0) and prints usage on bad options (exit 2).
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

int cmd_version(int argc, char **argv);
/* commands: add the declaration here and the entry in main.c's table */
/* CLI-COMMAND-DECLS */
int cmd_query(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_lp(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_resync(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_flags(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_ratelimit(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_rollforward(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_ask(int argc, char **argv);
int cmd_repair(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_drill(int argc, char **argv);

#endif
