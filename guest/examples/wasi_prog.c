// A WASI preview 1 command for the tests and the demo: printf, argv, environment, stdin, files
// under a preopened /data directory, a denied open outside it, and an exit code.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  printf("argc=%d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  const char* greeting = getenv("GREETING");
  printf("GREETING=%s\n", greeting ? greeting : "(unset)");
  char line[128];
  if (fgets(line, sizeof line, stdin)) printf("stdin=%s", line);

  // Upper-cases /data/in.txt into /data/out.txt: needs the /data preopen.
  FILE* in = fopen("/data/in.txt", "r");
  if (!in) {
    fprintf(stderr, "cannot open /data/in.txt: %s\n", strerror(errno));
  } else {
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
      if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] = (char)(buf[i] - 'a' + 'A');
    FILE* out = fopen("/data/out.txt", "w");
    if (!out) {
      fprintf(stderr, "cannot create /data/out.txt: %s\n", strerror(errno));
    } else {
      fputs(buf, out);
      fclose(out);
      printf("copied %zu bytes\n", n);
    }
  }

  // Outside every preopen: denied (wasi-libc reports ENOTCAPABLE, "Capabilities insufficient").
  FILE* secret = fopen("/etc/passwd", "r");
  printf("/etc/passwd: %s\n", secret ? "opened" : strerror(errno));
  if (secret) fclose(secret);

  fflush(stdout);
  const char* code = getenv("EXIT_CODE");
  return code ? atoi(code) : 0;
}
