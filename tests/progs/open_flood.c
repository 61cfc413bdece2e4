/* open_flood N PATH: N open/close pairs of PATH as fast as possible (the load test). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s N PATH\n", argv[0]);
    return 2;
  }
  long n = atol(argv[1]);
  for (long i = 0; i < n; i++) {
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) {
      perror("open");
      return 1;
    }
    close(fd);
  }
  return 0;
}
