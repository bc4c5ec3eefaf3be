/*  stack.h: the local stack behind `maas up` / `maas down`: a private
 *  redis-server, a broker, workers and trainers as detached child processes,
 *  all under one state directory so two stacks never collide. */
#ifndef MAAS_CLIENT_STACK_H
#define MAAS_CLIENT_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

//  Layout of a state directory DIR:
//    DIR/redis.sock        the private redis-server (unless a Redis URL is given)
//    DIR/redis/            its data (append-only file), kept by down, restored by up
//    DIR/frontend.sock     broker frontend (ipc://), clients connect here
//    DIR/backend.sock      broker backend (ipc://), workers and trainers connect here
//    DIR/stack.pids        one line per process: "role pid program"
//    DIR/env               MAAS_REDIS_URL=…, MAAS_BROKER_FRONTEND=… (and
//                          MAAS_HTTP_URL=… with a gateway) for other shells
//    DIR/logs/ROLE.log     each process's stdout and stderr
//    DIR/keys/             with --secure: CurveZMQ keys (secrets mode 0600): broker,
//                          admin (the CLI's, in env), gateway, worker (workers and
//                          trainers); keys/clients/ and keys/workers/ the broker's lists

typedef struct {
    const char *state_dir;    //  where everything lives (created if missing)
    const char *redis_url;    //  external Redis, NULL: start a private one
    int workers;              //  maas-worker processes (>= 0)
    int trainers;             //  maas-trainer processes (>= 0)
    int cache_mb;             //  worker model cache bound, 0: worker default
    const char *http;         //  gateway ADDR:PORT, NULL: 127.0.0.1:8501, "off": none
    bool secure;              //  CurveZMQ between every process and the broker
    const char *bin_dir;      //  where the programs are ($MAAS_BIN_DIR), NULL: beside maas
} maas_stack_config_t;

//  (The default state dir is env.h's maas_cli_state_dir.)

//  Start the stack. Fails (-1, reason in ERR) if one is already up in the
//  state dir, a binary is missing, or a process does not come up; then it
//  stops whatever it had started. Prints nothing; the caller reports.
int maas_stack_up (const maas_stack_config_t *config, char *err, size_t err_size);
//  Stop exactly the processes stack.pids names (checking each PID still runs
//  the program it started, so a recycled PID is never signalled): SIGTERM,
//  then SIGKILL after TIMEOUT_MS; remove sockets, pid and env files. Returns
//  the number of processes stopped, or -1 with ERR if no stack is up there.
//  The private Redis's data (DIR/redis/) is kept for the next up, unless
//  PURGE: then it is deleted too (-1 with ERR if that fails).
int maas_stack_down (const char *state_dir, int timeout_ms, bool purge, char *err, size_t err_size);
//  Print one line per process (role, pid, running or gone, log) to OUT;
//  returns the number still running, -1 if no stack is up there. MEMBERS,
//  if not NULL, gets the number of processes the stack has. JSON: one
//  object instead, {"state_dir","processes":[{role,pid,program,state,log}],
//  "running","total"}, no newline (docs/cli.md).
int maas_stack_print (const char *state_dir, FILE *out, int *members, bool json);
//  Read DIR/env into the environment so every command finds the stack `maas
//  up` started: only variables not already set, unless OVERWRITE (the user
//  named this stack explicitly). Quiet if there is none.
void maas_stack_load_env (const char *state_dir, bool overwrite);

#endif
