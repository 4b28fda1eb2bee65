/*
 * The session transport over a real socketpair: TLS 1.3 handshakes with
 * mutual authentication, data both ways, peer identity, refusal of a peer
 * whose certificate another CA signed, and the plaintext mode.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls.h"

static char pki[64];
static char other[80];

static void path(char *buf, size_t len, const char *dir, const char *file)
{
	snprintf(buf, len, "%s/%s", dir, file);
}

static int group_setup(void **state)
{
	const char *top = getenv("top_srcdir");
	char cmd[512];

	(void)state;
	signal(SIGPIPE, SIG_IGN); /* as the daemons do */
	snprintf(pki, sizeof(pki), "/tmp/ila-tls-XXXXXX");
	if (!mkdtemp(pki))
		return -1;
	snprintf(other, sizeof(other), "%s/other", pki);
	snprintf(cmd, sizeof(cmd), "%s/scripts/mkcerts.sh %s mapper n1 && %s/scripts/mkcerts.sh %s n1",
		 top ? top : ".", pki, top ? top : ".", other);
	return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", pki);
	return system(cmd) == 0 ? 0 : -1;
}

static int ctx_for(struct ila_tls_ctx *t, bool server, const char *dir, const char *name,
		   char *err, size_t errlen)
{
	char cert[128], key[128], ca[128], f[64];

	snprintf(f, sizeof(f), "%s.crt", name);
	path(cert, sizeof(cert), dir, f);
	snprintf(f, sizeof(f), "%s.key", name);
	path(key, sizeof(key), dir, f);
	path(ca, sizeof(ca), pki, "ca.crt"); /* both trust only the main CA */
	return ila_tls_ctx_init(t, server, cert, key, ca, err, errlen);
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (int i = 0; i < 2; i++)
		fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK);
}

/* Alternates both ends until both are done or one fails. */
static void handshake(struct ila_conn *s, struct ila_conn *c, int *rs, int *rc, char *err)
{
	*rs = *rc = -EAGAIN;
	for (int i = 0; i < 100 && (*rs == -EAGAIN || *rc == -EAGAIN); i++) {
		if (*rc == -EAGAIN)
			*rc = ila_conn_handshake(c, err, 256);
		if (*rs == -EAGAIN)
			*rs = ila_conn_handshake(s, err, 256);
	}
}

static void test_mutual_handshake_and_data(void **state)
{
	struct ila_tls_ctx sctx, cctx;
	struct ila_conn s, c;
	char err[256] = "", id[64], buf[64];
	int sv[2], rs, rc;

	(void)state;
	assert_int_equal(ctx_for(&sctx, true, pki, "mapper", err, sizeof(err)), 0);
	assert_int_equal(ctx_for(&cctx, false, pki, "n1", err, sizeof(err)), 0);
	pair(sv);
	assert_int_equal(ila_conn_init(&s, sv[0], &sctx), 0);
	assert_int_equal(ila_conn_init(&c, sv[1], &cctx), 0);
	assert_int_equal(ila_conn_read(&s, buf, sizeof(buf)), -EAGAIN);
	handshake(&s, &c, &rs, &rc, err);
	assert_int_equal(rs, 0);
	assert_int_equal(rc, 0);
	assert_int_equal(ila_conn_peer_identity(&s, id, sizeof(id)), 0);
	assert_string_equal(id, "n1");
	assert_int_equal(ila_conn_peer_identity(&c, id, sizeof(id)), 0);
	assert_string_equal(id, "mapper");
	assert_int_equal(ila_conn_write(&c, "hello", 5), 5);
	assert_int_equal(ila_conn_read(&s, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(ila_conn_read(&s, buf, sizeof(buf)), -EAGAIN);
	ila_conn_close(&c);
	/* the close_notify reads as an orderly EOF */
	assert_int_equal(ila_conn_read(&s, buf, sizeof(buf)), 0);
	ila_conn_close(&s);
	ila_tls_ctx_free(&sctx);
	ila_tls_ctx_free(&cctx);
}

static void test_foreign_ca_refused(void **state)
{
	struct ila_tls_ctx sctx, cctx;
	struct ila_conn s, c;
	char err[256] = "";
	int sv[2], rs, rc;

	(void)state;
	assert_int_equal(ctx_for(&sctx, true, pki, "mapper", err, sizeof(err)), 0);
	/* n1's certificate from a CA the mapper does not trust */
	assert_int_equal(ctx_for(&cctx, false, other, "n1", err, sizeof(err)), 0);
	pair(sv);
	assert_int_equal(ila_conn_init(&s, sv[0], &sctx), 0);
	assert_int_equal(ila_conn_init(&c, sv[1], &cctx), 0);
	handshake(&s, &c, &rs, &rc, err);
	assert_int_equal(rs, -EACCES);
	assert_non_null(strstr(err, "certificate"));
	assert_false(s.established);
	ila_conn_close(&s);
	ila_conn_close(&c);
	ila_tls_ctx_free(&sctx);
	ila_tls_ctx_free(&cctx);
}

static void test_bad_files_explained(void **state)
{
	struct ila_tls_ctx t;
	char err[256] = "", cert[128], key[128], ca[128];

	(void)state;
	path(cert, sizeof(cert), pki, "mapper.crt");
	path(key, sizeof(key), pki, "n1.key");
	path(ca, sizeof(ca), pki, "ca.crt");
	assert_int_equal(ila_tls_ctx_init(&t, true, cert, key, ca, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "n1.key"));
	assert_int_equal(ila_tls_ctx_init(&t, true, "/nonexistent.crt", key, ca, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "/nonexistent.crt"));
}

static void test_plaintext(void **state)
{
	struct ila_conn s, c;
	char buf[16], id[16];
	int sv[2];

	(void)state;
	pair(sv);
	assert_int_equal(ila_conn_init(&s, sv[0], NULL), 0);
	assert_int_equal(ila_conn_init(&c, sv[1], NULL), 0);
	assert_true(s.established);
	assert_int_equal(ila_conn_handshake(&s, NULL, 0), 0);
	assert_int_equal(ila_conn_peer_identity(&s, id, sizeof(id)), -ENOENT);
	assert_int_equal(ila_conn_read(&s, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(ila_conn_write(&c, "abc", 3), 3);
	assert_int_equal(ila_conn_read(&s, buf, sizeof(buf)), 3);
	ila_conn_close(&c);
	assert_int_equal(ila_conn_read(&s, buf, sizeof(buf)), 0);
	ila_conn_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutual_handshake_and_data),
		cmocka_unit_test(test_foreign_ca_refused),
		cmocka_unit_test(test_bad_files_explained),
		cmocka_unit_test(test_plaintext),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
