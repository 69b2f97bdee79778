/*
 * ados-spawner: starts the `exec` capability's commands for a worker (shared/node/process/spawner.ts says why).
 *
 * A small, single-threaded process that the worker starts once and talks to over its stdin and stdout. It starts
 * each command with posix_spawn (glibc clones with CLONE_VM|CLONE_VFORK: no copy of anyone's page tables) in a new
 * session (so the command leads its own process group, pgid = pid), stdin from /dev/null, stdout and stderr
 * appended to the command's log file, in the command's cwd, with exactly the command's environment; the program is
 * looked up on the command's own PATH, as execvp in a Node child would. It reports each start and each exit.
 *
 * Requests (stdin): records of NUL-terminated fields:
 *   id, cwd, log file, argc, argv[0..argc), envc, env[0..envc) ("NAME=value")
 * Replies (stdout), one line each:
 *   started <id> <pid>       failed <id> <errno>       exited <id> <code|-> <signal number|->
 *
 * Stopping a command is the worker's business (it signals the group itself); SIGINT, SIGTERM, SIGHUP and SIGQUIT
 * are ignored, so a terminal's Ctrl-C or a supervisor's signal to the worker's group leaves the spawner to report the
 * exits of the commands the worker then stops. When the worker goes away (stdin closes) the spawner exits and
 * leaves running commands running: they are detached in both ways ADOS starts
 * commands, and the next attempt stops a crashed attempt's group from its heartbeat.
 *
 * Built by deploy/bootstrap.mjs into .ados/bin/ados-spawner when a C compiler is present (glibc 2.29 or later:
 * posix_spawn_file_actions_addchdir_np); without it, commands start through Node's child_process.spawn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* A record with more fields than this is refused (failed <id> E2BIG), and so is a longer id. */
#define MAX_FIELDS 131072
#define MAX_ID 64

struct child {
  pid_t pid;
  char id[MAX_ID];
};

static struct child *children;
static size_t child_count, child_capacity;
static char *fields[MAX_FIELDS];

static void die(const char *what) {
  fprintf(stderr, "ados-spawner: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void *grow(void *block, size_t bytes) {
  void *grown = realloc(block, bytes);
  if (!grown) die("out of memory");
  return grown;
}

static void reply(const char *format, ...) {
  char line[160];
  va_list args;
  va_start(args, format);
  int length = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  for (int written = 0; written < length;) {
    ssize_t n = write(STDOUT_FILENO, line + written, (size_t)(length - written));
    if (n < 0 && errno == EINTR) continue;
    /* The worker is gone: nobody is left to tell. */
    if (n < 0) exit(0);
    written += (int)n;
  }
}

/* A whole number field; -1 when it is not one. */
static long count_field(const char *text) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  return (errno || end == text || *end || value < 0) ? -1 : value;
}

/*
 * Splits the first complete record of buffer[0..length) into `fields`. Returns the bytes it used, 0 when the record
 * is incomplete, or -1 when it is malformed (its id, when known, is in fields[0]).
 */
static long take_record(char *buffer, size_t length, size_t *field_count) {
  size_t taken = 0, offset = 0;
  long need = 4;
  int stage = 0;
  while ((long)taken < need) {
    char *end = memchr(buffer + offset, 0, length - offset);
    if (!end) return 0;
    fields[taken++] = buffer + offset;
    offset = (size_t)(end - buffer) + 1;
    if (stage == 0 && taken == 4) {
      long argc = count_field(fields[3]);
      if (argc < 1) return -1;
      need = 4 + argc + 1;
      stage = 1;
    } else if (stage == 1 && (long)taken == need) {
      long envc = count_field(fields[taken - 1]);
      if (envc < 0) return -1;
      need += envc;
      stage = 2;
    }
    if (need > MAX_FIELDS) return -1;
  }
  *field_count = taken;
  return (long)offset;
}

static void start_command(size_t field_count) {
  const char *id = fields[0], *cwd = fields[1], *log = fields[2];
  size_t argc = (size_t)count_field(fields[3]);
  char **argv = grow(NULL, (argc + 1) * sizeof *argv);
  for (size_t i = 0; i < argc; i++) argv[i] = fields[4 + i];
  argv[argc] = NULL;
  size_t envc = field_count - 5 - argc;
  char **envp = grow(NULL, (envc + 1) * sizeof *envp);
  const char *path = NULL;
  for (size_t i = 0; i < envc; i++) {
    envp[i] = fields[5 + argc + i];
    if (strncmp(envp[i], "PATH=", 5) == 0) path = envp[i] + 5;
  }
  envp[envc] = NULL;

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log, O_WRONLY | O_APPEND | O_CREAT, 0666);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, cwd);
  /* The command starts with no signal blocked (the spawner blocks SIGCHLD) and every signal at its default. */
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  /* posix_spawnp searches the caller's PATH: make it the command's (unset: glibc's default, as for execvp). */
  if (path) setenv("PATH", path, 1);
  else unsetenv("PATH");

  pid_t pid;
  int failed = strchr(argv[0], '/') ? posix_spawn(&pid, argv[0], &actions, &attributes, argv, envp)
                                    : posix_spawnp(&pid, argv[0], &actions, &attributes, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  free(argv);
  free(envp);
  if (failed) {
    reply("failed %s %d\n", id, failed);
    return;
  }
  if (child_count == child_capacity) {
    child_capacity = child_capacity ? child_capacity * 2 : 64;
    children = grow(children, child_capacity * sizeof *children);
  }
  children[child_count].pid = pid;
  snprintf(children[child_count].id, MAX_ID, "%s", id);
  child_count++;
  reply("started %s %d\n", id, (int)pid);
}

static void collect_exits(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (size_t i = 0; i < child_count; i++) {
      if (children[i].pid != pid) continue;
      if (WIFEXITED(status)) reply("exited %s %d -\n", children[i].id, WEXITSTATUS(status));
      else reply("exited %s - %d\n", children[i].id, WTERMSIG(status));
      children[i] = children[--child_count];
      break;
    }
  }
}

int main(void) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &chld, NULL) != 0) die("sigprocmask");
  int exits = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (exits < 0) die("signalfd");
  signal(SIGPIPE, SIG_IGN);
  /*
   * It lives exactly as long as the worker's end of its stdin: Ctrl-C at a terminal or a supervisor's SIGTERM to the
   * worker's process group reaches the worker, which stops its commands by cancelling their attempts, and that needs
   * the spawner to report their exits. (Commands get every signal back at its default: setsigdefault below.)
   */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);

  size_t capacity = 1 << 16, length = 0;
  char *buffer = grow(NULL, capacity);
  struct pollfd watched[2] = {{STDIN_FILENO, POLLIN, 0}, {exits, POLLIN, 0}};
  for (;;) {
    if (poll(watched, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (watched[1].revents & POLLIN) {
      struct signalfd_siginfo info;
      while (read(exits, &info, sizeof info) == (ssize_t)sizeof info) {
      }
      collect_exits();
    }
    if (watched[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (length == capacity) buffer = grow(buffer, capacity *= 2);
      ssize_t n = read(STDIN_FILENO, buffer + length, capacity - length);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 0;
      length += (size_t)n;
      for (;;) {
        size_t field_count = 0;
        long used = take_record(buffer, length, &field_count);
        if (used == 0) break;
        if (used < 0) {
          /* The worker and the spawner disagree about the protocol: nothing after this can be trusted. */
          fprintf(stderr, "ados-spawner: malformed request; exiting\n");
          return 3;
        }
        start_command(field_count);
        memmove(buffer, buffer + used, length - (size_t)used);
        length -= (size_t)used;
      }
    }
  }
}
