/*
 * The pause container of the local node: the process that holds a pod's namespaces. Built as a
 * tiny static program by e2e/node/images.ts (no registry here to pull one from). It waits for a
 * signal, reaps orphans (it is PID 1 of the pod's PID namespace when shared), and exits 0 on
 * SIGINT/SIGTERM.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }

int main(void) {
  signal(SIGINT, stop);
  signal(SIGTERM, stop);
  signal(SIGCHLD, reap);
  for (;;) pause();
}
