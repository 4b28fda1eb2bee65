/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/fanclient: the subscribers of bench/fanout.py, the same program for
 * ila-mapper and for Redis so that both pay the same client cost. It opens
 * N sessions to 127.0.0.1:PORT (TLS 1.3 with one client certificate per
 * session, or plaintext), sends each its greeting from HELLO (N blobs, each
 * a 4-byte big-endian length and the bytes), and waits until every session
 * has received the READY bytes. Then it answers each line "GO HEX" on stdin
 * with "ARMED", and once every session has received the bytes HEX, with
 * "DONE NS": the CLOCK_MONOTONIC time, in ns, at which the last one did.
 * The protocol is left to the caller: it only looks for bytes in streams.
 *
 *   fanclient PORT N HELLO READY_HEX [CERTDIR CA FIRST]
 *
 * With CERTDIR, session i presents CERTDIR/s<FIRST+i>.crt with the key
 * CERTDIR/node.key and verifies the server against CA; it reads ahead (one
 * read a record, drained until the library wants more).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KEEP 256 /* bytes kept of a stream between reads, for a marker cut in two */
#define INFLIGHT 128 /* sessions connecting at a time: the listen backlogs are small */

struct sub {
	int fd;
	SSL *ssl;
	int state; /* 0 connecting, 1 greeting sent, 2 ready */
	uint8_t *hello;
	size_t hello_len;
	uint8_t buf[KEEP + 16384];
	size_t len;
	int found;
	uint64_t at;
};

static struct sub *subs;
static unsigned nsubs;
static int ep;
static uint8_t marker[512];
static size_t marker_len;

static void die(const char *what)
{
	fprintf(stderr, "fanclient: %s: %s\n", what, strerror(errno));
	ERR_print_errors_fp(stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t unhex(const char *h, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (h[0] && h[1] && h[0] != '\n' && n < max) {
		unsigned v;

		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

static void start(struct sub *s, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = s };
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		die("socket");
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
		die("connect");
	if (s->ssl)
		SSL_set_fd(s->ssl, s->fd);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		die("epoll_ctl");
}

/* Reads what there is; returns whether the session has the marker now. */
static void drain(struct sub *s, const uint8_t *want, size_t want_len)
{
	for (;;) {
		ssize_t r;

		if (s->len > KEEP) {
			memmove(s->buf, s->buf + s->len - KEEP, KEEP);
			s->len = KEEP;
		}
		if (s->ssl) {
			size_t got = 0;
			int ret = SSL_read_ex(s->ssl, s->buf + s->len, sizeof(s->buf) - s->len, &got);

			if (ret != 1) {
				int e = SSL_get_error(s->ssl, ret);

				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return;
				fprintf(stderr, "fanclient: session closed (TLS error %d)\n", e);
				exit(1);
			}
			r = (ssize_t)got;
		} else {
			r = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
			if (r < 0 && errno == EAGAIN)
				return;
			if (r <= 0) {
				fprintf(stderr, "fanclient: session closed\n");
				exit(1);
			}
		}
		size_t from = s->len > want_len ? s->len - want_len : 0;

		s->len += (size_t)r;
		if (!s->found && want_len &&
		    memmem(s->buf + from, s->len - from, want, want_len)) {
			s->found = 1;
			s->at = now_ns();
		}
	}
}

int main(int argc, char **argv)
{
	uint8_t ready[512];
	size_t ready_len;
	SSL_CTX *ctx = NULL;
	const char *certdir = NULL;
	unsigned first = 0, next = 0, nready = 0, nfound = 0, connecting = 0;
	int port, armed = 0;
	struct epoll_event evs[1024];
	FILE *hf;

	if (argc != 5 && argc != 8) {
		fprintf(stderr, "usage: fanclient PORT N HELLO READY_HEX [CERTDIR CA FIRST]\n");
		return 2;
	}
	port = atoi(argv[1]);
	nsubs = (unsigned)atoi(argv[2]);
	ready_len = unhex(argv[4], ready, sizeof(ready));
	if (argc == 8) {
		certdir = argv[5];
		first = (unsigned)atoi(argv[7]);
		ctx = SSL_CTX_new(TLS_client_method());
		char key[4096];

		snprintf(key, sizeof(key), "%s/node.key", certdir);
		if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[6], NULL) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
			die("TLS context");
		SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		/* a record comes with one read, not a header read and a body
		 * read: what an efficient TLS client does, for every server */
		SSL_CTX_set_read_ahead(ctx, 1);
	}
	subs = calloc(nsubs, sizeof(*subs));
	hf = fopen(argv[3], "rb");
	if (!subs || !hf)
		die("setup");
	for (unsigned i = 0; i < nsubs; i++) {
		uint8_t l[4];

		if (fread(l, 1, 4, hf) != 4)
			die("HELLO is short");
		subs[i].hello_len = (size_t)l[0] << 24 | l[1] << 16 | l[2] << 8 | l[3];
		subs[i].hello = malloc(subs[i].hello_len);
		if (!subs[i].hello || fread(subs[i].hello, 1, subs[i].hello_len, hf) != subs[i].hello_len)
			die("HELLO is short");
		if (ctx) {
			char crt[4096];

			subs[i].ssl = SSL_new(ctx);
			snprintf(crt, sizeof(crt), "%s/s%u.crt", certdir, first + i);
			if (!subs[i].ssl || SSL_use_certificate_file(subs[i].ssl, crt,
								     SSL_FILETYPE_PEM) != 1)
				die(crt);
			SSL_set_connect_state(subs[i].ssl);
		}
	}
	fclose(hf);
	ep = epoll_create1(0);
	if (ep < 0)
		die("epoll_create1");
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

		epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
	}
	for (;;) {
		while (next < nsubs && connecting < INFLIGHT) {
			start(&subs[next++], port);
			connecting++;
		}
		int n = epoll_wait(ep, evs, 1024, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (int k = 0; k < n; k++) {
			struct sub *s = evs[k].data.ptr;

			if (!s) {
				char line[1200];

				if (!fgets(line, sizeof(line), stdin))
					return 0;
				if (strncmp(line, "GO ", 3) != 0)
					continue;
				marker_len = unhex(line + 3, marker, sizeof(marker));
				nfound = 0;
				for (unsigned i = 0; i < nsubs; i++) {
					subs[i].found = 0;
					/* bytes already here count, if the push beat the line */
					if (memmem(subs[i].buf, subs[i].len, marker, marker_len)) {
						subs[i].found = 1;
						subs[i].at = now_ns();
						nfound++;
					}
				}
				armed = 1;
				printf("ARMED\n");
				fflush(stdout);
				continue;
			}
			if (s->state == 0) {
				if (s->ssl) {
					int ret = SSL_do_handshake(s->ssl);

					if (ret != 1) {
						int e = SSL_get_error(s->ssl, ret);

						if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
							die("TLS handshake");
						struct epoll_event ev = { .data.ptr = s,
							.events = e == SSL_ERROR_WANT_WRITE ?
								  EPOLLIN | EPOLLOUT : EPOLLIN };
						epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
						continue;
					}
					if (SSL_write(s->ssl, s->hello, (int)s->hello_len) !=
					    (int)s->hello_len)
						die("TLS write");
				} else if (write(s->fd, s->hello, s->hello_len) != (ssize_t)s->hello_len) {
					if (errno == EAGAIN || errno == ENOTCONN)
						continue;
					die("write");
				}
				struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

				epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
				s->state = 1;
			}
			if (s->state == 1) {
				s->found = 0;
				drain(s, ready, ready_len);
				if (s->found) {
					s->state = 2;
					s->found = 0;
					connecting--;
					if (++nready == nsubs) {
						printf("READY\n");
						fflush(stdout);
					}
				}
				continue;
			}
			int had = s->found;

			drain(s, armed ? marker : NULL, armed ? marker_len : 0);
			if (armed && s->found && !had && ++nfound == nsubs) {
				uint64_t last = 0;

				for (unsigned i = 0; i < nsubs; i++)
					if (subs[i].at > last)
						last = subs[i].at;
				printf("DONE %llu\n", (unsigned long long)last);
				fflush(stdout);
				armed = 0;
			}
		}
	}
}
