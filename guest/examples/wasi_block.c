/* A WASI command that blocks inside WASI calls (tests/python/test_wasi_block.py): argv[1] picks
 * how. Each way first writes "ready\n" to stderr, flushed, so that a test can tell the guest has
 * reached its blocking call (a handshake) without guessing with a sleep. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void ready(void) {
  fputs("ready\n", stderr);
  fflush(stderr);
}

int main(int argc, char **argv) {
  const char *how = argc > 1 ? argv[1] : "sleep";
  if (strcmp(how, "sleep") == 0) { /* one long sleep (argv[2] seconds, or an hour): one relative clock */
    ready();
    sleep(argc > 2 ? (unsigned)atoi(argv[2]) : 3600);
  } else if (strcmp(how, "naps") == 0) { /* many short sleeps in a loop */
    ready();
    for (;;) usleep(1000);
  } else if (strcmp(how, "abs") == 0) { /* an absolute deadline on the monotonic clock, an hour away */
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += 3600;
    ready();
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
  } else if (strcmp(how, "short") == 0) { /* sleeps that end: 30 ms relative, then 30 ms absolute */
    struct timespec t;
    usleep(30000);
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_nsec += 30000000;
    if (t.tv_nsec >= 1000000000) { t.tv_sec += 1; t.tv_nsec -= 1000000000; }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
    puts("slept");
    return 0;
  } else if (strcmp(how, "read") == 0) { /* reads stdin to its end, echoing what it read */
    char buf[256];
    long total = 0;
    ssize_t n;
    ready();
    while ((n = read(0, buf, sizeof buf)) > 0) {
      fwrite(buf, 1, (size_t)n, stdout);
      total += n;
    }
    fflush(stdout);
    printf("read %ld bytes, last %zd\n", total, n);
    return 0;
  } else if (strcmp(how, "poll") == 0) { /* waits for stdin with poll(), no timeout */
    struct pollfd p = {.fd = 0, .events = POLLIN};
    ready();
    int r = poll(&p, 1, -1);
    printf("poll %d revents %d\n", r, p.revents);
    return 0;
  }
  return 3;
}
