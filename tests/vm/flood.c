/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flood: a rate-limited UDP stream of sequence-numbered packets and its
 * receiver, for the VM suites that move a workload under traffic. Python
 * under software emulation cannot send or count 10,000 packets a second;
 * this can, and it says exactly which packets were lost or came twice.
 *
 *   flood send -d ADDR -p PORT -r RATE -n COUNT [-s SRC] [-l LEN] [-t SEC] [-i RUN]
 *       COUNT packets to ADDR:PORT at RATE per second (from SRC; ADDR and SRC
 *       IPv6, or both IPv4, sent IPv4-mapped through the same socket), payload LEN
 *       bytes (at least 32), for at most SEC seconds. Errors from the network
 *       (ICMPv6 answers, EHOSTUNREACH, ...) are counted, not fatal.
 *       A send that fails (an ICMPv6 error reported on the socket) is
 *       retried twice, then the packet counts as unsent. Prints one line:
 *       "send sent=N unsent=U errors=E icmp=I icmp_type=T icmp_code=C
 *       icmp_from=ADDR ... elapsed_ms=T" (the last ICMPv6 answer's type, code
 *       and sender).
 *   flood recv -p PORT -n COUNT [-t SEC] [-w MS] [-i RUN] [-o FILE]
 *       Prints "READY" once bound, then takes packets of run RUN until all
 *       COUNT sequence numbers arrived, SEC seconds passed, or nothing came
 *       for MS milliseconds after the first packet. Prints one line:
 *       "recv packets=N unique=U dup=D lost=L reordered=R ..." with a field
 *       "if<IFINDEX>=packets/first_ms/last_ms/first_seq/last_seq" per arrival
 *       interface (IPv6 and IPv4 packets alike). -o FILE writes "SEQ IFINDEX T_US" per packet (T_US on
 *       CLOCK_MONOTONIC, as Python's time.monotonic()). SIGTERM or SIGINT
 *       ends it early, with its report.
 *
 * A packet: magic "ILAF", run id, sequence number (from 0), CLOCK_MONOTONIC
 * send time in ns, then filler. Exit status: 0 done, 1 failure (message on
 * stderr), 2 usage; a receiver that timed out with packets missing exits 0
 * and reports them as lost.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x494c4146u /* "ILAF" */
#define HDR_LEN 32
#define MAX_LEN 1400
#define MAX_COUNT 10000000u
#define MAX_IFS 16
#define RX_BATCH 64
#define TX_BURST 64 /* packets sent back to back at most, when catching up */

struct opts {
	const char *dst, *src, *out;
	unsigned port, rate, count, len, run;
	double max_s;
	unsigned idle_ms;
};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static int parse_addr(const char *s, unsigned port, struct sockaddr_in6 *a)
{
	memset(a, 0, sizeof(*a));
	a->sin6_family = AF_INET6;
	a->sin6_port = htons((uint16_t)port);
	if (inet_pton(AF_INET6, s, &a->sin6_addr) == 1)
		return 0;
	/* IPv4 goes through the same (dual-stack) socket, IPv4-mapped */
	if (inet_pton(AF_INET, s, &a->sin6_addr.s6_addr[12]) == 1) {
		a->sin6_addr.s6_addr[10] = 0xff;
		a->sin6_addr.s6_addr[11] = 0xff;
		return 0;
	}
	fprintf(stderr, "flood: '%s' is neither an IPv6 nor an IPv4 address\n", s);
	return -1;
}

/* The last ICMPv6 answer seen: type, code and who sent it. */
struct icmp_seen {
	unsigned count;
	int type, code;
	char from[INET6_ADDRSTRLEN];
};

/* Reads the socket's error queue: ICMPv6 answers to what was sent. */
static unsigned drain_errors(int fd, struct icmp_seen *icmp)
{
	unsigned n = 0;

	for (;;) {
		uint8_t data[64], cbuf[512];
		struct iovec iov = { data, sizeof(data) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;

		if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return n;
		n++;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			struct sock_extended_err ee;
			struct sockaddr_in6 off;

			if (c->cmsg_level != IPPROTO_IPV6 || c->cmsg_type != IPV6_RECVERR)
				continue;
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			if (ee.ee_origin != SO_EE_ORIGIN_ICMP6)
				continue;
			icmp->count++;
			icmp->type = ee.ee_type;
			icmp->code = ee.ee_code;
			/* the offender's address follows the structure */
			if (c->cmsg_len >= CMSG_LEN(sizeof(ee) + sizeof(off))) {
				memcpy(&off, CMSG_DATA(c) + sizeof(ee), sizeof(off));
				inet_ntop(AF_INET6, &off.sin6_addr, icmp->from, sizeof(icmp->from));
			}
		}
	}
}

static int do_send(const struct opts *o)
{
	struct sockaddr_in6 dst, src;
	uint8_t buf[MAX_LEN];
	uint64_t t0, deadline, next;
	struct icmp_seen icmp = { .type = -1, .code = -1, .from = "-" };
	unsigned sent = 0, errors = 0, queued_err = 0, first_err = 0, one = 1;
	unsigned max_behind = 0, retries = 0, unsent = 0;
	int fd, last_errno = 0;

	if (!o->dst || !o->rate || !o->count) {
		fprintf(stderr, "flood send: -d, -r and -n are required\n");
		return 2;
	}
	if (parse_addr(o->dst, o->port, &dst) < 0)
		return 2;
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("flood: socket");
		return 1;
	}
	if (o->src) {
		if (parse_addr(o->src, 0, &src) < 0)
			return 2;
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			perror("flood: bind");
			return 1;
		}
	}
	/* ICMPv6 errors land in the error queue instead of failing the next send */
	setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		perror("flood: connect");
		return 1;
	}
	memset(buf, 0, sizeof(buf));
	put32(buf, MAGIC);
	put32(buf + 4, o->run);
	for (unsigned i = HDR_LEN; i < o->len; i++)
		buf[i] = (uint8_t)i;
	t0 = now_ns();
	deadline = t0 + (uint64_t)(o->max_s * 1e9);
	while (sent < o->count) {
		uint64_t now = now_ns();
		/* packets due by now (microseconds: no overflow within an hour at
		 * any rate); a late wake-up sends the backlog in bursts */
		uint64_t due = (now - t0) / 1000u * o->rate / 1000000u + 1;
		unsigned burst = 0;

		if (now > deadline)
			break;
		if (due > o->count)
			due = o->count;
		if (due > sent && due - sent > max_behind)
			max_behind = (unsigned)(due - sent);
		while (sent < due && burst < TX_BURST) {
			put32(buf + 8, sent);
			put64(buf + 16, now_ns());
			if (send(fd, buf, o->len, 0) < 0) {
				if (errno == EAGAIN || errno == ENOBUFS) {
					/* local queue full: this one again on the next round */
					struct pollfd p = { fd, POLLOUT, 0 };

					poll(&p, 1, 1);
					break;
				}
				/* an ICMP error reported on the socket fails the next send
				 * before it leaves: count it and send that packet again */
				if (!errors++)
					first_err = sent;
				last_errno = errno;
				queued_err += drain_errors(fd, &icmp);
				if (++retries < 3)
					continue;
				unsent++;
			}
			retries = 0;
			sent++;
			burst++;
		}
		queued_err += drain_errors(fd, &icmp);
		if (sent >= due) {
			struct timespec ts;

			next = t0 + ((uint64_t)sent * 1000000000u + o->rate - 1) / o->rate;
			ts.tv_sec = (time_t)(next / 1000000000u);
			ts.tv_nsec = (long)(next % 1000000000u);
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
	}
	uint64_t el = now_ns() - t0;

	/* late ICMP answers */
	usleep(100000);
	queued_err += drain_errors(fd, &icmp);
	printf("send sent=%u unsent=%u errors=%u icmp=%u icmp_type=%d icmp_code=%d icmp_from=%s "
	       "errqueue=%u first_error_seq=%d last_errno=%d max_behind=%u elapsed_ms=%.1f "
	       "rate=%.0f\n", sent - unsent, unsent, errors, icmp.count, icmp.type, icmp.code,
	       icmp.from, queued_err,
	       errors ? (int)first_err : -1, last_errno, max_behind, el / 1e6,
	       el ? sent * 1e9 / (double)el : 0.0);
	close(fd);
	return sent == o->count && !unsent ? 0 : 1;
}

struct ifstat {
	int ifindex;
	unsigned packets;
	uint64_t first_ns, last_ns;
	unsigned first_seq, last_seq;
};

static struct ifstat *ifstat_of(struct ifstat *t, unsigned *n, int ifindex)
{
	for (unsigned i = 0; i < *n; i++)
		if (t[i].ifindex == ifindex)
			return &t[i];
	if (*n == MAX_IFS)
		return NULL;
	memset(&t[*n], 0, sizeof(t[0]));
	t[*n].ifindex = ifindex;
	return &t[(*n)++];
}

static int do_recv(const struct opts *o)
{
	struct sockaddr_in6 any = { .sin6_family = AF_INET6 };
	static uint8_t bufs[RX_BATCH][MAX_LEN];
	static uint8_t cbufs[RX_BATCH][128];
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct ifstat ifs[MAX_IFS];
	unsigned nifs = 0, packets = 0, unique = 0, dup = 0, reordered = 0, foreign = 0;
	unsigned highest = 0, one = 1;
	bool any_seen = false;
	uint8_t *seen;
	uint64_t t0, deadline, last_rx = 0, first_rx = 0;
	int fd, rcvbuf = 16 << 20;
	FILE *log = NULL;

	if (!o->count) {
		fprintf(stderr, "flood recv: -n is required\n");
		return 2;
	}
	seen = calloc(o->count, 1);
	if (!seen) {
		fprintf(stderr, "flood: out of memory\n");
		return 1;
	}
	if (o->out && !(log = fopen(o->out, "w"))) {
		perror(o->out);
		return 1;
	}
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("flood: socket");
		return 1;
	}
	/* a long pause of the receiver under emulation must not drop packets */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)); /* IPv4 packets */
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	any.sin6_port = htons((uint16_t)o->port);
	if (bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0) {
		perror("flood: bind");
		return 1;
	}
	/* no SA_RESTART: the signal interrupts poll() and the loop ends */
	struct sigaction sa = { .sa_handler = on_stop };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("READY\n");
	fflush(stdout);
	t0 = now_ns();
	deadline = t0 + (uint64_t)(o->max_s * 1e9);
	uint32_t overflow = 0;

	while (unique < o->count) {
		uint64_t now = now_ns();
		int wait_ms = (int)((deadline - now) / 1000000u);
		struct pollfd p = { fd, POLLIN, 0 };
		int n;

		if (now >= deadline || stop_requested)
			break;
		if (any_seen && o->idle_ms) {
			uint64_t idle_end = last_rx + (uint64_t)o->idle_ms * 1000000u;

			if (now >= idle_end)
				break;
			if ((int)((idle_end - now) / 1000000u) + 1 < wait_ms)
				wait_ms = (int)((idle_end - now) / 1000000u) + 1;
		}
		if (poll(&p, 1, wait_ms) <= 0)
			continue;
		for (int i = 0; i < RX_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = MAX_LEN;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_control = cbufs[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(cbufs[i]);
		}
		n = recvmmsg(fd, msgs, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		now = now_ns();
		for (int i = 0; i < n; i++) {
			const uint8_t *b = bufs[i];
			int ifindex = 0;
			struct cmsghdr *c;
			struct ifstat *st;
			uint32_t seq;

			for (c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c;
			     c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
				if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
					struct in6_pktinfo pi;

					memcpy(&pi, CMSG_DATA(c), sizeof(pi));
					ifindex = (int)pi.ipi6_ifindex;
				} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
					struct in_pktinfo pi;

					memcpy(&pi, CMSG_DATA(c), sizeof(pi));
					ifindex = pi.ipi_ifindex;
				} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
					memcpy(&overflow, CMSG_DATA(c), sizeof(overflow));
				}
			}
			if (msgs[i].msg_len < HDR_LEN || get32(b) != MAGIC || get32(b + 4) != o->run ||
			    get32(b + 8) >= o->count) {
				foreign++;
				continue;
			}
			seq = get32(b + 8);
			packets++;
			if (!any_seen)
				first_rx = now;
			last_rx = now;
			if (seen[seq]) {
				dup++;
			} else {
				seen[seq] = 1;
				unique++;
			}
			if (any_seen && seq < highest)
				reordered++;
			if (!any_seen || seq > highest)
				highest = seq;
			any_seen = true;
			st = ifstat_of(ifs, &nifs, ifindex);
			if (st) {
				if (!st->packets) {
					st->first_ns = now;
					st->first_seq = seq;
				}
				st->packets++;
				st->last_ns = now;
				st->last_seq = seq;
			}
			if (log)
				fprintf(log, "%u %d %llu\n", seq, ifindex,
					(unsigned long long)(now / 1000u));
		}
	}
	/* the first and last sequence numbers missing, to tell a gap from a tail */
	int first_lost = -1, last_lost = -1;

	for (unsigned s = 0; s < o->count; s++) {
		if (!seen[s]) {
			if (first_lost < 0)
				first_lost = (int)s;
			last_lost = (int)s;
		}
	}
	printf("recv packets=%u unique=%u dup=%u lost=%u reordered=%u foreign=%u "
	       "first_lost=%d last_lost=%d rxq_overflow=%u span_ms=%.1f",
	       packets, unique, dup, o->count - unique, reordered, foreign, first_lost, last_lost,
	       overflow, any_seen ? (last_rx - first_rx) / 1e6 : 0.0);
	for (unsigned i = 0; i < nifs; i++)
		printf(" if%d=%u/%.1f/%.1f/%u/%u", ifs[i].ifindex, ifs[i].packets,
		       ifs[i].first_ns / 1e6, ifs[i].last_ns / 1e6, ifs[i].first_seq,
		       ifs[i].last_seq);
	printf("\n");
	if (log && fclose(log) != 0) {
		perror(o->out);
		return 1;
	}
	free(seen);
	close(fd);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: flood send -d ADDR -p PORT -r RATE -n COUNT [-s SRC] [-l LEN] [-t SEC] "
		"[-i RUN]\n"
		"       flood recv -p PORT -n COUNT [-t SEC] [-w IDLE_MS] [-i RUN] [-o FILE]\n");
}

static int num(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max) {
		fprintf(stderr, "flood: bad number '%s' (0-%u)\n", s, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .port = 0, .len = 64, .max_s = 60.0 };
	unsigned secs = 60;
	int c;

	if (argc < 2) {
		usage();
		return 2;
	}
	optind = 2;
	while ((c = getopt(argc, argv, "d:s:p:r:n:l:t:w:i:o:")) != -1) {
		int rc = 0;

		switch (c) {
		case 'd':
			o.dst = optarg;
			break;
		case 's':
			o.src = optarg;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'p':
			rc = num(optarg, 65535, &o.port);
			break;
		case 'r':
			rc = num(optarg, 10000000, &o.rate);
			break;
		case 'n':
			rc = num(optarg, MAX_COUNT, &o.count);
			break;
		case 'l':
			rc = num(optarg, MAX_LEN, &o.len);
			break;
		case 't':
			rc = num(optarg, 3600, &secs);
			break;
		case 'w':
			rc = num(optarg, 3600000, &o.idle_ms);
			break;
		case 'i':
			rc = num(optarg, 0xffffffffu, &o.run);
			break;
		default:
			usage();
			return 2;
		}
		if (rc < 0)
			return 2;
	}
	o.max_s = secs;
	if (!o.port || o.len < HDR_LEN || optind != argc) {
		usage();
		return 2;
	}
	if (strcmp(argv[1], "send") == 0)
		return do_send(&o);
	if (strcmp(argv[1], "recv") == 0)
		return do_recv(&o);
	usage();
	return 2;
}
