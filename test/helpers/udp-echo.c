/* udp-echo: the network tests' UDP server, built static by test/helpers/udp-echo.ts and
 * copied into a busybox rootfs (whose nc has no UDP).
 *
 *   udp-echo PORT    answers every datagram on 0.0.0.0:PORT with "echo: " and the datagram
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	char buf[2048] = "echo: ";
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: udp-echo PORT\n");
		return 2;
	}
	addr.sin_port = htons((unsigned short)atoi(argv[1]));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		perror("udp-echo");
		return 1;
	}
	for (;;) {
		struct sockaddr_in peer;
		socklen_t len = sizeof peer;
		ssize_t n = recvfrom(fd, buf + 6, sizeof buf - 6, 0, (struct sockaddr *)&peer, &len);

		if (n > 0)
			sendto(fd, buf, (size_t)n + 6, 0, (struct sockaddr *)&peer, len);
	}
}
