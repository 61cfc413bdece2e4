/* Compile workload for the fidelity e2e test: `gcc -O2 -o hello hello.c`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  const char *who = argc > 1 ? argv[1] : "world";
  char *greeting = malloc(strlen(who) + 8);
  if (!greeting) return 1;
  sprintf(greeting, "hello, %s", who);
  puts(greeting);
  free(greeting);
  return 0;
}
