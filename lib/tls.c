/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls.h"

static void ssl_error_text(const char *what, char *err, size_t errlen)
{
	unsigned long e = ERR_get_error();
	char reason[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	snprintf(err, errlen, "%s: %s", what, reason);
}

/*
 * The peer's certificate must name its role in its extended key usage: a
 * server (ila-mapper) accepts only clientAuth certificates, a client (ilad)
 * only serverAuth ones. A certificate without the extension is refused too
 * (OpenSSL's purpose check alone would let it pass as "any purpose").
 */
/* The identity of the last certificate refused at depth 0, for the message
 * of the handshake that refused it (the daemons are single-threaded). */
static char refused_name[ILA_TLS_NAME_MAX];

static int verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	X509 *cert = X509_STORE_CTX_get_current_cert(x);

	if (!ssl || !cert || X509_STORE_CTX_get_error_depth(x) != 0)
		return ok;
	uint32_t want = SSL_is_server(ssl) ? XKU_SSL_CLIENT : XKU_SSL_SERVER;
	if (ok && (!(X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) ||
		   !(X509_get_extended_key_usage(cert) & want))) {
		X509_STORE_CTX_set_error(x, X509_V_ERR_INVALID_PURPOSE);
		ok = 0;
	}
	if (!ok && ila_cert_identity(cert, refused_name, sizeof(refused_name)) < 0)
		snprintf(refused_name, sizeof(refused_name), "(no usable name)");
	return ok;
}

int ila_tls_ctx_init(struct ila_tls_ctx *t, bool server, const char *cert, const char *key,
		     const char *ca, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	t->ctx = NULL;
	t->server = server;
	if (!ctx) {
		ssl_error_text("SSL_CTX_new", err, errlen);
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	/* buffers are released while a connection is idle: an idle peer (and
	 * one that never finishes its handshake) costs little memory */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_error_text(cert, err, errlen);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ssl_error_text(key, err, errlen);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "%s does not match %s", key, cert);
		ERR_clear_error();
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ssl_error_text(ca, err, errlen);
		goto fail;
	}
	/* The chain we send, built once: our certificate, the intermediates
	 * of the certificate file or the CA bundle, not the root. Left to
	 * itself OpenSSL rebuilds it from the CA bundle at every handshake
	 * and sends the root too, which the peer must already hold as its
	 * trust anchor and only parses and keeps with the session (the
	 * mapper: 3 KiB and 60 allocations per node). A certificate that
	 * does not chain to our own bundle (the peer's CA may differ) is
	 * sent with what could be built. */
	if (SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_UNTRUSTED |
						  SSL_BUILD_CHAIN_FLAG_NO_ROOT |
						  SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR |
						  SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR) <= 0) {
		ssl_error_text(cert, err, errlen);
		goto fail;
	}
	/* no resumption: every session presents and verifies its certificate.
	 * OpenSSL would otherwise issue two tickets per session that cost CPU
	 * and memory and that no node could use: with SSL_VERIFY_PEER and no
	 * session id context, a ticket presented back fails the handshake
	 * ("session id context uninitialized") */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	SSL_CTX_set_purpose(ctx, server ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER);
	t->ctx = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return -EINVAL;
}

void ila_tls_ctx_free(struct ila_tls_ctx *t)
{
	SSL_CTX_free(t->ctx);
	t->ctx = NULL;
}

/* Creates the SSL object of a TLS connection that has none yet. */
static int conn_start(struct ila_conn *c)
{
	if (c->ssl || !c->tls)
		return 0;
	c->ssl = SSL_new(c->tls->ctx);
	if (!c->ssl) {
		ERR_clear_error();
		return -ENOMEM;
	}
	if (SSL_set_fd(c->ssl, c->fd) != 1) { /* its socket BIO */
		SSL_free(c->ssl);
		c->ssl = NULL;
		ERR_clear_error();
		return -ENOMEM;
	}
	if (c->tls->server)
		SSL_set_accept_state(c->ssl);
	else
		SSL_set_connect_state(c->ssl);
	return 0;
}

int ila_conn_init(struct ila_conn *c, int fd, struct ila_tls_ctx *tls)
{
	*c = (struct ila_conn){ .fd = fd, .tls = tls, .established = tls == NULL };
	if (!tls || tls->server)
		return 0;
	return conn_start(c);
}

int ila_conn_set_peer_name(struct ila_conn *c, const char *name)
{
	if (!c->tls || !name || !*name)
		return 0;
	if (conn_start(c) < 0)
		return -ENOMEM;
	SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_WILDCARDS);
	if (SSL_set1_host(c->ssl, name) != 1) {
		ERR_clear_error();
		return -EINVAL;
	}
	return 0;
}

void ila_conn_close(struct ila_conn *c)
{
	if (c->ssl) {
		/* best effort close_notify, unless the peer already said goodbye */
		if (c->established && !(SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN))
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->tls = NULL;
	ERR_clear_error();
}

/* Maps an SSL_get_error result to the conventions above. */
static int conn_ssl_result(struct ila_conn *c, int ret)
{
	int e = SSL_get_error(c->ssl, ret);

	c->want_write = false;
	switch (e) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		c->want_write = true;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		return errno ? -errno : -EPIPE;
	default:
		ERR_clear_error();
		return -EPROTO;
	}
}

/*
 * Whether a server may start its handshake: when the client's first record
 * (its ClientHello) is whole in the socket. Started on a part of it, OpenSSL
 * would hold the SSL object, its handshake buffers and a read buffer (46 KiB)
 * for a peer that sent a few bytes and stalled. Until then SO_RCVLOWAT keeps
 * the socket unreadable to the event loop, so that the peer costs no wake-up
 * either. A peer that closes, a socket error, or a first record that is not
 * a handshake record of a legal length, go to OpenSSL, which refuses them.
 */
static bool first_record_in(struct ila_conn *c)
{
	unsigned char h[5];
	int avail = 0, want = (int)sizeof(h);

	if (ioctl(c->fd, FIONREAD, &avail) < 0)
		return true;
	if (avail >= want) {
		if (recv(c->fd, h, sizeof(h), MSG_PEEK) != (ssize_t)sizeof(h))
			return true;
		unsigned int len = (unsigned int)h[3] << 8 | h[4];
		if (h[0] != SSL3_RT_HANDSHAKE || len > SSL3_RT_MAX_PLAIN_LENGTH)
			return true;
		want += (int)len;
	}
	if (avail >= want) {
		if (c->rcvlowat) {
			int one = 1;

			setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
			c->rcvlowat = false;
		}
		return true;
	}
	struct pollfd p = { .fd = c->fd, .events = POLLRDHUP };
	if (poll(&p, 1, 0) != 0) /* the peer closed, the socket failed, or poll did */
		return true;
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &want, sizeof(want)) < 0)
		return true;
	c->rcvlowat = true;
	return false;
}

int ila_conn_handshake(struct ila_conn *c, char *err, size_t errlen)
{
	int ret, rc;

	if (c->established)
		return 0;
	if (!c->ssl && c->tls && c->tls->server && !first_record_in(c)) {
		c->want_write = false;
		return -EAGAIN;
	}
	rc = conn_start(c);
	if (rc < 0) {
		snprintf(err, errlen, "TLS handshake: %s", strerror(-rc));
		return rc;
	}
	refused_name[0] = '\0';
	ret = SSL_do_handshake(c->ssl);
	if (ret == 1) {
		c->established = true;
		c->want_write = false;
		return 0;
	}
	rc = SSL_get_error(c->ssl, ret);
	if (rc == SSL_ERROR_WANT_READ || rc == SSL_ERROR_WANT_WRITE) {
		c->want_write = rc == SSL_ERROR_WANT_WRITE;
		return -EAGAIN;
	}
	long vr = SSL_get_verify_result(c->ssl);
	if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_INVALID_PURPOSE) {
		const char *who = refused_name[0] ? refused_name : "?";
		const char *want = X509_VERIFY_PARAM_get0_host(SSL_get0_param(c->ssl), 0);

		if (vr == X509_V_ERR_HOSTNAME_MISMATCH)
			snprintf(err, errlen, "TLS handshake: peer certificate '%s' does not carry "
				 "the name '%s'", who, want ? want : "?");
		else
			snprintf(err, errlen, "TLS handshake: peer certificate '%s' is not a %s "
				 "certificate (extended key usage %s missing)", who,
				 SSL_is_server(c->ssl) ? "node" : "mapper",
				 SSL_is_server(c->ssl) ? "clientAuth" : "serverAuth");
		ERR_clear_error();
		return -EPERM;
	}
	if (vr != X509_V_OK) {
		snprintf(err, errlen, "TLS handshake: peer certificate: %s",
			 X509_verify_cert_error_string(vr));
		ERR_clear_error();
		return -EACCES;
	}
	ssl_error_text("TLS handshake", err, errlen);
	return -EPROTO;
}

ssize_t ila_conn_read(struct ila_conn *c, void *buf, size_t n)
{
	int rc = conn_start(c);

	if (rc < 0)
		return rc;
	if (!c->ssl) {
		ssize_t r = read(c->fd, buf, n);

		if (r < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		return r;
	}
	size_t got = 0;
	int ret = SSL_read_ex(c->ssl, buf, n, &got);

	if (ret == 1) {
		c->want_write = false;
		return (ssize_t)got;
	}
	return conn_ssl_result(c, ret);
}

ssize_t ila_conn_write(struct ila_conn *c, const void *buf, size_t n)
{
	int rc = conn_start(c);

	if (rc < 0)
		return rc;
	if (!c->ssl) {
		ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);

		if (w < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		return w;
	}
	size_t done = 0;
	int ret = SSL_write_ex(c->ssl, buf, n, &done);

	if (ret == 1) {
		c->want_write = false;
		return (ssize_t)done;
	}
	rc = conn_ssl_result(c, ret);
	return rc == 0 ? -EPIPE : rc;
}

/* Whether s (l bytes) is a name fit for the logs and the config: printable
 * ASCII, no NUL. */
static bool name_ok(const unsigned char *s, int l, size_t len)
{
	if (l <= 0 || (size_t)l >= len)
		return false;
	for (int i = 0; i < l; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

int ila_cert_identity(X509 *cert, char *out, size_t len)
{
	int rc = -ENOENT;
	GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);

	if (sans) {
		/* a certificate with names in subjectAltName is known by them only */
		for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
			const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);

			if (gn->type != GEN_DNS)
				continue;
			const unsigned char *d = ASN1_STRING_get0_data(gn->d.dNSName);
			int l = ASN1_STRING_length(gn->d.dNSName);
			if (name_ok(d, l, len)) {
				memcpy(out, d, (size_t)l);
				out[l] = '\0';
				rc = 0;
			}
			break; /* the first DNS name, good or not */
		}
		GENERAL_NAMES_free(sans);
		return rc;
	}
	X509_NAME *subj = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (i < 0 || X509_NAME_get_index_by_NID(subj, NID_commonName, i) >= 0)
		return -ENOENT; /* none, or more than one: ambiguous */
	ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
	unsigned char *u = NULL;
	int l = ASN1_STRING_to_UTF8(&u, cn);
	if (l > 0 && name_ok(u, l, len)) {
		memcpy(out, u, (size_t)l);
		out[l] = '\0';
		rc = 0;
	}
	OPENSSL_free(u);
	return rc;
}

int ila_conn_peer_identity(const struct ila_conn *c, char *out, size_t len)
{
	X509 *cert;
	int rc;

	if (!c->ssl)
		return -ENOENT;
	cert = SSL_get1_peer_certificate(c->ssl);
	if (!cert)
		return -ENOENT;
	rc = ila_cert_identity(cert, out, len);
	X509_free(cert);
	return rc;
}
