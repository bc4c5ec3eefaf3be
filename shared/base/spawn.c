/*  spawn.c: fork + exec with a clean descriptor table (see spawn.h). The
 *  child reports a failed set-up or exec through a close-on-exec pipe, so a
 *  missing binary is an error the caller can show, not exit code 127 later. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

//  Mark every descriptor from 3 up close-on-exec (the status pipe must stay
//  open until exec): close_range where the kernel has it, else /proc/self/fd.
static void
s_cloexec_from_3 (void)
{
    if (close_range (3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    long max = sysconf (_SC_OPEN_MAX);
    for (int fd = 3; fd < (max > 0 ? max : 65536); fd++) {
        int flags = fcntl (fd, F_GETFD);
        if (flags >= 0)
            fcntl (fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

//  Point FD at PATH opened with FLAGS; 0, or -1 with errno.
static int
s_redirect (const char *path, int flags, int fd)
{
    int opened = open (path, flags | O_CLOEXEC, 0644);
    if (opened < 0)
        return -1;
    int rc = dup2 (opened, fd) < 0 ? -1 : 0;
    close (opened);
    return rc;
}

//  In the child: set up, exec; on failure write errno to STATUS_FD and exit.
static void
s_child (const char *const argv[], const maas_spawn_options_t *options, pid_t parent, int status_fd)
{
    if (options->die_with_parent) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)    //  the caller died before the line above
            _exit (127);
    }
    if (options->new_session)
        setsid ();
    int ok = (!options->stdin_null || s_redirect ("/dev/null", O_RDONLY, STDIN_FILENO) == 0)
        && (!options->log_path
            || (s_redirect (options->log_path, O_WRONLY | O_CREAT | O_APPEND, STDOUT_FILENO) == 0
                && dup2 (STDOUT_FILENO, STDERR_FILENO) >= 0));
    for (size_t i = 0; ok && options->env && options->env[i]; i++)
        putenv ((char *) options->env[i]);
    if (ok) {
        s_cloexec_from_3 ();
        if (options->search_path)
            execvp (argv[0], (char *const *) argv);
        else
            execv (argv[0], (char *const *) argv);
    }
    int code = errno;
    ssize_t ignored = write (status_fd, &code, sizeof code);
    (void) ignored;
    _exit (127);
}

pid_t
maas_spawn (const char *const argv[], const maas_spawn_options_t *options, maas_err_t *err)
{
    static const maas_spawn_options_t defaults = {0};
    options = options ? options : &defaults;
    int status_pipe[2];
    if (pipe2 (status_pipe, O_CLOEXEC) != 0) {
        maas_err_set (err, MAAS_ERR_IO, "cannot start %s: pipe: %s", argv[0], strerror (errno));
        return -1;
    }
    pid_t parent = getpid (), pid = fork ();
    if (pid == 0)
        s_child (argv, options, parent, status_pipe[1]);
    int fork_errno = errno;
    close (status_pipe[1]);
    int child_errno = 0;
    ssize_t got = 0;
    while (pid > 0 && (got = read (status_pipe[0], &child_errno, sizeof child_errno)) < 0
           && errno == EINTR)
        ;
    close (status_pipe[0]);
    if (pid < 0 || got > 0) {
        if (pid > 0)
            waitpid (pid, NULL, 0);
        maas_err_set (err, MAAS_ERR_IO, "cannot start %s: %s", argv[0],
                      strerror (pid < 0 ? fork_errno : child_errno));
        return -1;
    }
    return pid;
}
