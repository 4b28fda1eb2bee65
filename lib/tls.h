/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session transport: TLS 1.3 with mutual certificate authentication over
 * a non-blocking TCP socket, or plaintext (tests on loopback only) when no
 * TLS context is given. Both look the same to the session code.
 */
#ifndef ILA_TLS_H
#define ILA_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct x509_st X509;

#define ILA_TLS_NAME_MAX 256 /* a certificate name: 1-255 bytes + NUL */

struct ila_tls_ctx {
	SSL_CTX *ctx;
	bool server;
};

/*
 * Loads certificate, key and CA bundle. Peers must present a certificate
 * signed by the CA (both directions) whose extended key usage names the
 * peer's role: a server (ila-mapper) requires clientAuth of its clients (the
 * nodes), a client (ilad) serverAuth of its server (the mapper). A peer
 * certificate without extended key usage is refused. Returns 0 or -errno
 * with a message.
 */
int ila_tls_ctx_init(struct ila_tls_ctx *t, bool server, const char *cert, const char *key,
		     const char *ca, char *err, size_t errlen);
void ila_tls_ctx_free(struct ila_tls_ctx *t);

struct ila_conn {
	int fd;
	SSL *ssl;	 /* NULL: plaintext, or a server's TLS not started yet */
	struct ila_tls_ctx *tls; /* NULL: plaintext */
	bool established; /* handshake done (always true for plaintext) */
	bool want_write;  /* the last call needs the socket writable to go on */
	bool rcvlowat;	  /* SO_RCVLOWAT raised until the first record is in */
};

/*
 * Wraps fd (non-blocking, connected or accepted). tls NULL means plaintext.
 * A server creates its SSL object at the first handshake, read or write
 * (the mapper's first one: when the ClientHello arrives), so that a
 * connection that sends nothing costs no TLS state; a client creates it
 * now. OpenSSL writes with write(2): the process must ignore SIGPIPE.
 */
int ila_conn_init(struct ila_conn *c, int fd, struct ila_tls_ctx *tls);
/*
 * Before the handshake: the peer's certificate must carry name (OpenSSL's
 * host name check: DNS subjectAltNames, the subject CN only when there is no
 * DNS subjectAltName; no wildcards), else the handshake fails with -EPERM.
 * Nothing in plaintext or when name is NULL or "". 0, -EINVAL or -ENOMEM.
 */
int ila_conn_set_peer_name(struct ila_conn *c, const char *name);
/* Frees the TLS state and closes fd. */
void ila_conn_close(struct ila_conn *c);

/*
 * Drives the handshake: 0 when done, -EAGAIN to call again when the socket
 * is ready (see want_write), or on failure (err says why): -EPERM when the
 * peer's certificate is valid but not the one wanted (wrong name, or not of
 * the peer's role by extended key usage), -EACCES when it is not valid,
 * -ENOMEM when there is no memory for the TLS state, -EPROTO otherwise.
 * A server starts when the client's first record is whole; until then it
 * raises the socket's SO_RCVLOWAT to that record's length, so that the
 * socket does not read ready before, and lowers it again after.
 */
int ila_conn_handshake(struct ila_conn *c, char *err, size_t errlen);

/* > 0 bytes, 0 at orderly EOF, -EAGAIN, or -errno/-EPROTO. */
ssize_t ila_conn_read(struct ila_conn *c, void *buf, size_t n);
/* > 0 bytes written, -EAGAIN, or -errno/-EPROTO. */
ssize_t ila_conn_write(struct ila_conn *c, const void *buf, size_t n);

/*
 * A certificate's identity: when it has a subjectAltName extension, its
 * first DNS name; only when it has none, the subject CN (exactly one CN).
 * -ENOENT when there is no such name or it is not printable ASCII without
 * spaces of 1 to len-1 bytes (never used, never logged).
 */
int ila_cert_identity(X509 *cert, char *out, size_t len);
/* The peer certificate's identity as above; -ENOENT also in plaintext or
 * without a certificate. */
int ila_conn_peer_identity(const struct ila_conn *c, char *out, size_t len);

#endif
