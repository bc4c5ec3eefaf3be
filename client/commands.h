/*  commands.h: the `maas` CLI's command groups, one file each
 *  (client/cmd_<group>.c). Each takes the arguments after its name
 *  (argv[0] is the group name) and returns the process exit code. */
#ifndef MAAS_CLIENT_COMMANDS_H
#define MAAS_CLIENT_COMMANDS_H

typedef int (maas_cmd_fn) (int argc, char **argv);

typedef struct {
    const char *name;               //  first word on the command line
    maas_cmd_fn *run;               //  the command group's entry point
    const char *summary;            //  one line for `maas --help`
} maas_cmd_t;

//  -- one prototype per command group; keep in the order of main.c's table
int maas_cmd_version (int argc, char **argv);
int maas_cmd_dataset (int argc, char **argv);
int maas_cmd_model (int argc, char **argv);
int maas_cmd_infer (int argc, char **argv);
int maas_cmd_explain (int argc, char **argv);
int maas_cmd_status (int argc, char **argv);
int maas_cmd_train (int argc, char **argv);
int maas_cmd_job (int argc, char **argv);
int maas_cmd_jobs (int argc, char **argv);
int maas_cmd_cancel (int argc, char **argv);
int maas_cmd_up (int argc, char **argv);
int maas_cmd_down (int argc, char **argv);
int maas_cmd_ps (int argc, char **argv);
int maas_cmd_score (int argc, char **argv);
int maas_cmd_synth (int argc, char **argv);

#endif
