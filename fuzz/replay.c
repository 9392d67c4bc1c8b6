/*
 * replay.c - a plain main() for the fuzz targets: feeds every file named on
 * the command line (directories are walked one level) to
 * LLVMFuzzerTestOneInput, so make check replays the corpora with any
 * compiler. Exits 0 when every input ran, 1 when one could not be read.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* Run one file through the target; returns 0 or -1 when unreadable. */
static int
replay_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	ssize_t r;
	size_t n = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return -1;
	}
	while (n < (size_t)st.st_size) {
		r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	struct dirent *de;
	struct stat st;
	char path[4096];
	int i, rc = 0, count = 0;
	DIR *d;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if ((d = opendir(argv[i])) == NULL) {
				rc = 1;
				continue;
			}
			while ((de = readdir(d)) != NULL) {
				if (de->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", argv[i],
				    de->d_name);
				if (replay_file(path) != 0)
					rc = 1;
				count++;
			}
			closedir(d);
		} else {
			if (replay_file(argv[i]) != 0)
				rc = 1;
			count++;
		}
	}
	printf("replayed %d inputs\n", count);
	return rc;
}
