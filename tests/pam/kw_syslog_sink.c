/*
 * kw_syslog_sink.c - test helper: a syslog sink. Binds an AF_UNIX datagram
 * socket at SOCK (mode 0666) and appends every message received to OUT,
 * one per line, until killed. Tests bind-mount SOCK over /dev/log in a
 * private mount namespace, so nothing on the host changes.
 * Usage: kw_syslog_sink SOCK OUT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sa;
	char buf[8192];
	ssize_t n;
	int s, out;

	if (argc != 3) {
		fprintf(stderr, "usage: kw_syslog_sink SOCK OUT\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "kw_syslog_sink: socket path too long\n");
		return 1;
	}
	strcpy(sa.sun_path, argv[1]);
	if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(argv[1], 0666) < 0) {
		perror("kw_syslog_sink: socket");
		return 1;
	}
	out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (out < 0) {
		perror("kw_syslog_sink: output");
		return 1;
	}
	for (;;) {
		n = recv(s, buf, sizeof(buf) - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("kw_syslog_sink: recv");
			return 1;
		}
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
			n--;
		buf[n++] = '\n';
		if (write(out, buf, (size_t)n) != n) {
			perror("kw_syslog_sink: write");
			return 1;
		}
	}
}
