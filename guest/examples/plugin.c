// A WASI command standing in for an untrusted plugin (README: "Running untrusted plugins"): argv[1]
// picks what it does. "greet" behaves (reads stdin, prints a greeting); the others attack the host:
// "loop" never ends, "bomb" allocates and touches memory until malloc fails, "flood" prints
// forever, "smash" recurses without end with a 1 KiB frame on the C stack, "sleep" waits an hour
// inside WASI (poll_oneoff), where no wasm code runs.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char* volatile last;  // the allocations escape, so the compiler keeps them

static int smash(volatile char* up) {
  volatile char frame[1024];
  frame[0] = up ? up[0] + 1 : 0;
  return smash(frame) + frame[1023];
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "greet";
  if (strcmp(mode, "greet") == 0) {
    char name[64] = "";
    if (!fgets(name, sizeof name, stdin)) strcpy(name, "nobody");
    name[strcspn(name, "\n")] = '\0';
    printf("hello, %s\n", name);
  } else if (strcmp(mode, "loop") == 0) {
    for (volatile unsigned i = 0;; i++) {
    }
  } else if (strcmp(mode, "bomb") == 0) {
    for (;;) {
      char* p = malloc(1 << 20);
      if (!p) abort();
      memset(p, 1, 1 << 20);
      last = p;
    }
  } else if (strcmp(mode, "flood") == 0) {
    for (;;) printf("spam spam spam spam spam spam spam spam\n");
  } else if (strcmp(mode, "smash") == 0) {
    return smash(0);
  } else if (strcmp(mode, "sleep") == 0) {
    sleep(3600);
  }
  return 0;
}
