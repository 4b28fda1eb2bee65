/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session transport over a real socketpair: TLS 1.3 handshakes with
 * mutual authentication, data both ways, peer identity, refusal of a peer
 * whose certificate another CA signed, and the plaintext mode. The identity
 * of a certificate (DNS subjectAltName, CN only without subjectAltName), the
 * extended key usage each side requires and the check of the mapper's name.
 * No session is resumed: the server issues no tickets. A server connection
 * creates its TLS state when the client's first record is whole. Neither
 * side sends the root of its chain.
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
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

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
	char cmd[1024];

	(void)state;
	signal(SIGPIPE, SIG_IGN); /* as the daemons do */
	snprintf(pki, sizeof(pki), "/tmp/ila-tls-XXXXXX");
	if (!mkdtemp(pki))
		return -1;
	snprintf(other, sizeof(other), "%s/other", pki);
	snprintf(cmd, sizeof(cmd), "%s/scripts/mkcerts.sh %s mapper n1 n2 && %s/scripts/mkcerts.sh %s n1",
		 top ? top : ".", pki, top ? top : ".", other);
	if (system(cmd) != 0)
		return -1;
	/* certificates whose names differ: NAME.crt from a subject and extensions */
	static const char *const odd[][3] = {
		{ "san-and-cn", "/CN=the-cn", "subjectAltName=DNS:the-san,DNS:second" },
		{ "cn-only", "/CN=only-cn", "extendedKeyUsage=clientAuth" },
		{ "ip-san", "/CN=cn-ignored", "subjectAltName=IP:192.0.2.1" },
		{ "bad-chars", "/CN=x", "subjectAltName=DNS:evil name" },
		{ "no-eku", "/CN=no-eku", "subjectAltName=DNS:no-eku" },
	};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		snprintf(cmd, sizeof(cmd),
			 "cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
			 "-subj '%s' -keyout %s.key -out %s.csr 2>/dev/null && "
			 "printf '%%s\\n' '%s' >%s.ext && openssl x509 -req -in %s.csr -CA ca.crt "
			 "-CAkey ca.key -CAcreateserial -days 1 -extfile %s.ext -out %s.crt 2>/dev/null",
			 pki, odd[i][1], odd[i][0], odd[i][0], odd[i][2], odd[i][0], odd[i][0],
			 odd[i][0], odd[i][0]);
		if (system(cmd) != 0)
			return -1;
	}
	/* a node certificate from an intermediate CA, which its file carries */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-subj '/CN=ila test intermediate' -keyout inter.key -out inter.csr 2>/dev/null && "
		 "printf 'basicConstraints=critical,CA:true\\nkeyUsage=critical,keyCertSign\\n' "
		 ">inter.ext && openssl x509 -req -in inter.csr -CA ca.crt -CAkey ca.key "
		 "-CAcreateserial -days 1 -extfile inter.ext -out inter.crt 2>/dev/null && "
		 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=n3 "
		 "-keyout n3.key -out n3.csr 2>/dev/null && "
		 "printf 'subjectAltName=DNS:n3\\nextendedKeyUsage=clientAuth\\n' >n3.ext && "
		 "openssl x509 -req -in n3.csr -CA inter.crt -CAkey inter.key -CAcreateserial "
		 "-days 1 -extfile n3.ext -out n3.leaf 2>/dev/null && cat n3.leaf inter.crt >n3.crt",
		 pki);
	if (system(cmd) != 0)
		return -1;
	return 0;
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

/* One session from a client that offers offer (NULL: none) for resumption;
 * its session (a reference) in *out when out is not NULL. */
static void session_with(struct ila_tls_ctx *sctx, struct ila_tls_ctx *cctx, SSL_SESSION *offer,
			 SSL_SESSION **out, bool *reused)
{
	struct ila_conn s, c;
	char err[256] = "", buf[8];
	int sv[2], rs, rc;

	pair(sv);
	assert_int_equal(ila_conn_init(&s, sv[0], sctx), 0);
	assert_int_equal(ila_conn_init(&c, sv[1], cctx), 0);
	if (offer)
		assert_int_equal(SSL_set_session(c.ssl, offer), 1);
	handshake(&s, &c, &rs, &rc, err);
	assert_int_equal(rs, 0);
	assert_int_equal(rc, 0);
	/* a TLS 1.3 client takes the tickets sent after the handshake as it reads */
	assert_int_equal(ila_conn_write(&s, "x", 1), 1);
	assert_int_equal(ila_conn_read(&c, buf, sizeof(buf)), 1);
	*reused = SSL_session_reused(s.ssl) == 1;
	if (out)
		*out = SSL_get1_session(c.ssl);
	ila_conn_close(&c);
	ila_conn_close(&s);
}

static void test_no_resumption(void **state)
{
	struct ila_tls_ctx sctx, cctx;
	SSL_SESSION *first = NULL;
	char err[256] = "";
	bool reused;

	(void)state;
	assert_int_equal(ctx_for(&sctx, true, pki, "mapper", err, sizeof(err)), 0);
	assert_int_equal(ctx_for(&cctx, false, pki, "n1", err, sizeof(err)), 0);
	session_with(&sctx, &cctx, NULL, &first, &reused);
	assert_non_null(first);
	assert_false(reused);
	/* no ticket: nothing a client could present instead of its certificate */
	assert_int_equal(SSL_SESSION_has_ticket(first), 0);
	assert_int_equal(SSL_SESSION_is_resumable(first), 0);
	/* a client that offers its old session anyway gets a full handshake */
	session_with(&sctx, &cctx, first, NULL, &reused);
	assert_false(reused);
	SSL_SESSION_free(first);
	ila_tls_ctx_free(&sctx);
	ila_tls_ctx_free(&cctx);
}

/* A server connection has no TLS state until its peer speaks: one that never
 * does costs no SSL object. */
static void test_server_tls_state_waits_for_the_client(void **state)
{
	struct ila_tls_ctx sctx, cctx;
	struct ila_conn s, c, idle;
	char err[256] = "";
	int sv[2], iv[2], rs, rc;

	(void)state;
	assert_int_equal(ctx_for(&sctx, true, pki, "mapper", err, sizeof(err)), 0);
	assert_int_equal(ctx_for(&cctx, false, pki, "n1", err, sizeof(err)), 0);
	pair(sv);
	pair(iv);
	assert_int_equal(ila_conn_init(&s, sv[0], &sctx), 0);
	assert_int_equal(ila_conn_init(&c, sv[1], &cctx), 0);
	assert_int_equal(ila_conn_init(&idle, iv[0], &sctx), 0);
	assert_null(s.ssl);
	assert_non_null(c.ssl);
	assert_false(s.established);
	handshake(&s, &c, &rs, &rc, err);
	assert_int_equal(rs, 0);
	assert_int_equal(rc, 0);
	assert_non_null(s.ssl);
	/* closed without a word: nothing to free but the socket */
	assert_null(idle.ssl);
	ila_conn_close(&idle);
	assert_int_equal(idle.fd, -1);
	close(iv[1]);
	ila_conn_close(&c);
	ila_conn_close(&s);
	ila_tls_ctx_free(&sctx);
	ila_tls_ctx_free(&cctx);
}

/* Each side sends its certificate and intermediates, not the root the peer
 * holds already (the server would keep a parsed copy per session). */
static void test_chain_sent_without_root(void **state)
{
	struct ila_tls_ctx sctx, cctx, ictx;
	struct ila_conn s, c;
	char err[256] = "", id[64];
	int sv[2], rs, rc;

	(void)state;
	assert_int_equal(ctx_for(&sctx, true, pki, "mapper", err, sizeof(err)), 0);
	assert_int_equal(ctx_for(&cctx, false, pki, "n1", err, sizeof(err)), 0);
	assert_int_equal(ctx_for(&ictx, false, pki, "n3", err, sizeof(err)), 0);
	pair(sv);
	assert_int_equal(ila_conn_init(&s, sv[0], &sctx), 0);
	assert_int_equal(ila_conn_init(&c, sv[1], &cctx), 0);
	handshake(&s, &c, &rs, &rc, err);
	assert_int_equal(rs, 0);
	assert_int_equal(rc, 0);
	/* a server's peer chain leaves out the peer's own certificate, a
	 * client's includes it */
	assert_int_equal(sk_X509_num(SSL_get_peer_cert_chain(s.ssl)), 0);
	assert_int_equal(sk_X509_num(SSL_get_peer_cert_chain(c.ssl)), 1);
	ila_conn_close(&c);
	ila_conn_close(&s);

	/* the intermediate of the certificate file goes along */
	pair(sv);
	assert_int_equal(ila_conn_init(&s, sv[0], &sctx), 0);
	assert_int_equal(ila_conn_init(&c, sv[1], &ictx), 0);
	handshake(&s, &c, &rs, &rc, err);
	assert_int_equal(rs, 0);
	assert_int_equal(rc, 0);
	assert_int_equal(ila_conn_peer_identity(&s, id, sizeof(id)), 0);
	assert_string_equal(id, "n3");
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(s.ssl);
	assert_int_equal(sk_X509_num(chain), 1);
	X509_NAME_oneline(X509_get_subject_name(sk_X509_value(chain, 0)), id, sizeof(id));
	assert_string_equal(id, "/CN=ila test intermediate");
	ila_conn_close(&c);
	ila_conn_close(&s);
	ila_tls_ctx_free(&sctx);
	ila_tls_ctx_free(&cctx);
	ila_tls_ctx_free(&ictx);
}

/* Moves what is waiting on from to to; the byte count. */
static size_t relay(int from, int to, size_t max)
{
	char buf[32768];
	ssize_t n = recv(from, buf, max < sizeof(buf) ? max : sizeof(buf), 0);

	if (n <= 0)
		return 0;
	assert_int_equal(send(to, buf, (size_t)n, 0), n);
	return (size_t)n;
}

/* A server starts its TLS state only when the whole ClientHello record is in:
 * a peer that sent part of it and stalls costs no SSL object, and the socket
 * does not read ready before the rest. */
static void test_server_waits_for_the_whole_first_record(void **state)
{
	struct ila_tls_ctx sctx, cctx;
	struct ila_conn s, c;
	char err[256] = "";
	int cv[2], sv[2], lowat, rs = -EAGAIN, rc;
	socklen_t len = sizeof(lowat);

	(void)state;
	assert_int_equal(ctx_for(&sctx, true, pki, "mapper", err, sizeof(err)), 0);
	assert_int_equal(ctx_for(&cctx, false, pki, "n1", err, sizeof(err)), 0);
	pair(cv); /* client - relay */
	pair(sv); /* relay - server */
	assert_int_equal(ila_conn_init(&c, cv[0], &cctx), 0);
	assert_int_equal(ila_conn_init(&s, sv[0], &sctx), 0);
	rc = ila_conn_handshake(&c, err, sizeof(err));
	assert_int_equal(rc, -EAGAIN);
	/* 3 bytes: not even the record header */
	assert_int_equal(relay(cv[1], sv[1], 3), 3);
	assert_int_equal(ila_conn_handshake(&s, err, sizeof(err)), -EAGAIN);
	assert_null(s.ssl);
	assert_false(s.want_write);
	assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_RCVLOWAT, &lowat, &len), 0);
	assert_int_equal(lowat, 5);
	/* the header and some: the whole record is asked for */
	assert_int_equal(relay(cv[1], sv[1], 20), 20);
	assert_int_equal(ila_conn_handshake(&s, err, sizeof(err)), -EAGAIN);
	assert_null(s.ssl);
	assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_RCVLOWAT, &lowat, &len), 0);
	assert_true(lowat > 23);
	/* the rest: the handshake goes on as usual and the mark is back to 1 */
	relay(cv[1], sv[1], sizeof(err) * 1000);
	for (int i = 0; i < 100 && (rs == -EAGAIN || rc == -EAGAIN); i++) {
		if (rs == -EAGAIN)
			rs = ila_conn_handshake(&s, err, sizeof(err));
		relay(sv[1], cv[1], 1 << 20);
		if (rc == -EAGAIN)
			rc = ila_conn_handshake(&c, err, sizeof(err));
		relay(cv[1], sv[1], 1 << 20);
	}
	assert_int_equal(rs, 0);
	assert_int_equal(rc, 0);
	assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_RCVLOWAT, &lowat, &len), 0);
	assert_int_equal(lowat, 1);
	ila_conn_close(&c);
	ila_conn_close(&s);
	close(cv[1]);
	close(sv[1]);

	/* a peer that closes after a part of its hello fails the handshake */
	pair(sv);
	assert_int_equal(ila_conn_init(&s, sv[0], &sctx), 0);
	assert_int_equal(send(sv[1], "\x16\x03\x01\x02\x00\x01", 6, 0), 6);
	assert_int_equal(ila_conn_handshake(&s, err, sizeof(err)), -EAGAIN);
	assert_null(s.ssl);
	close(sv[1]);
	assert_int_not_equal(ila_conn_handshake(&s, err, sizeof(err)), -EAGAIN);
	ila_conn_close(&s);

	/* a first record that is no handshake goes to OpenSSL, which refuses it */
	pair(sv);
	assert_int_equal(ila_conn_init(&s, sv[0], &sctx), 0);
	assert_int_equal(send(sv[1], "GET / HTTP/1.0\r\n", 16, 0), 16);
	assert_int_equal(ila_conn_handshake(&s, err, sizeof(err)), -EPROTO);
	ila_conn_close(&s);
	close(sv[1]);
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

/* The identity of pki/NAME.crt, or -errno. */
static int identity_of(const char *name, char *out, size_t len)
{
	char file[128];
	FILE *f;
	X509 *x;
	int rc;

	snprintf(file, sizeof(file), "%s/%s.crt", pki, name);
	f = fopen(file, "r");
	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	rc = ila_cert_identity(x, out, len);
	X509_free(x);
	return rc;
}

static void test_identity_san_before_cn(void **state)
{
	char id[64];

	(void)state;
	/* the first DNS subjectAltName, never the CN beside it */
	assert_int_equal(identity_of("san-and-cn", id, sizeof(id)), 0);
	assert_string_equal(id, "the-san");
	/* the CN only when there is no subjectAltName at all */
	assert_int_equal(identity_of("cn-only", id, sizeof(id)), 0);
	assert_string_equal(id, "only-cn");
	/* a subjectAltName without a DNS name: no identity, not the CN */
	assert_int_equal(identity_of("ip-san", id, sizeof(id)), -ENOENT);
	/* a name with a space (or any control byte) is no identity */
	assert_int_equal(identity_of("bad-chars", id, sizeof(id)), -ENOENT);
	/* too long for the buffer: refused, not cut */
	assert_int_equal(identity_of("san-and-cn", id, 7), -ENOENT);
	assert_int_equal(identity_of("san-and-cn", id, 8), 0);
}

/* A handshake of client certificate cname against server certificate sname;
 * peer: the name the client wants of the server, or NULL. */
static void try_pair(const char *sname, const char *cname, const char *peer, int *rs, int *rc,
		     char *err)
{
	struct ila_tls_ctx sctx, cctx;
	struct ila_conn s, c;
	char e2[256];
	int sv[2];

	assert_int_equal(ctx_for(&sctx, true, pki, sname, e2, sizeof(e2)), 0);
	assert_int_equal(ctx_for(&cctx, false, pki, cname, e2, sizeof(e2)), 0);
	pair(sv);
	assert_int_equal(ila_conn_init(&s, sv[0], &sctx), 0);
	assert_int_equal(ila_conn_init(&c, sv[1], &cctx), 0);
	if (peer)
		assert_int_equal(ila_conn_set_peer_name(&c, peer), 0);
	*rs = *rc = -EAGAIN;
	err[0] = '\0';
	for (int i = 0; i < 100 && (*rs == -EAGAIN || *rc == -EAGAIN); i++) {
		if (*rc == -EAGAIN)
			*rc = ila_conn_handshake(&c, err, 256);
		if (*rs == -EAGAIN)
			*rs = ila_conn_handshake(&s, *rc < 0 && *rc != -EAGAIN ? e2 : err, 256);
	}
	ila_conn_close(&s);
	ila_conn_close(&c);
	ila_tls_ctx_free(&sctx);
	ila_tls_ctx_free(&cctx);
}

static void test_mapper_name_checked(void **state)
{
	char err[256];
	int rs, rc;

	(void)state;
	try_pair("mapper", "n1", "mapper", &rs, &rc, err);
	assert_int_equal(rc, 0);
	assert_int_equal(rs, 0);
	try_pair("mapper", "n1", "other-mapper", &rs, &rc, err);
	assert_int_equal(rc, -EPERM);
	assert_non_null(strstr(err, "'mapper' does not carry the name 'other-mapper'"));
	/* the CN is not looked at when the certificate has DNS names */
	try_pair("san-and-cn", "n1", "the-cn", &rs, &rc, err);
	assert_int_equal(rc, -EPERM);
}

static void test_roles_by_key_usage(void **state)
{
	char err[256];
	int rs, rc;

	(void)state;
	/* a node certificate (clientAuth only) playing the mapper */
	try_pair("n2", "n1", NULL, &rs, &rc, err);
	assert_int_equal(rc, -EPERM);
	assert_non_null(strstr(err, "'n2' is not a mapper certificate"));
	/* the mapper's certificate (serverAuth only) playing a node */
	try_pair("mapper", "mapper", NULL, &rs, &rc, err);
	assert_int_equal(rs, -EPERM);
	/* a certificate without extended key usage is neither */
	try_pair("no-eku", "n1", NULL, &rs, &rc, err);
	assert_int_equal(rc, -EPERM);
	try_pair("mapper", "no-eku", NULL, &rs, &rc, err);
	assert_int_equal(rs, -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutual_handshake_and_data),
		cmocka_unit_test(test_no_resumption),
		cmocka_unit_test(test_server_tls_state_waits_for_the_client),
		cmocka_unit_test(test_server_waits_for_the_whole_first_record),
		cmocka_unit_test(test_chain_sent_without_root),
		cmocka_unit_test(test_foreign_ca_refused),
		cmocka_unit_test(test_bad_files_explained),
		cmocka_unit_test(test_plaintext),
		cmocka_unit_test(test_identity_san_before_cn),
		cmocka_unit_test(test_mapper_name_checked),
		cmocka_unit_test(test_roles_by_key_usage),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
