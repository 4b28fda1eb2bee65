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

struct ila_tls_ctx {
	SSL_CTX *ctx;
	bool server;
};

/*
 * Loads certificate, key and CA bundle. Peers must present a certificate
 * signed by the CA (both directions). Returns 0 or -errno with a message.
 */
int ila_tls_ctx_init(struct ila_tls_ctx *t, bool server, const char *cert, const char *key,
		     const char *ca, char *err, size_t errlen);
void ila_tls_ctx_free(struct ila_tls_ctx *t);

struct ila_conn {
	int fd;
	SSL *ssl;	 /* NULL: plaintext */
	bool established; /* handshake done (always true for plaintext) */
	bool want_write;  /* the last call needs the socket writable to go on */
};

/* Wraps fd (non-blocking, connected or accepted). tls NULL means plaintext.
 * OpenSSL writes with write(2): the process must ignore SIGPIPE. */
int ila_conn_init(struct ila_conn *c, int fd, struct ila_tls_ctx *tls);
/* Frees the TLS state and closes fd. */
void ila_conn_close(struct ila_conn *c);

/* Drives the handshake: 0 when done, -EAGAIN to call again when the socket
 * is ready (see want_write), -EPROTO/-EACCES on failure (err says why). */
int ila_conn_handshake(struct ila_conn *c, char *err, size_t errlen);

/* > 0 bytes, 0 at orderly EOF, -EAGAIN, or -errno/-EPROTO. */
ssize_t ila_conn_read(struct ila_conn *c, void *buf, size_t n);
/* > 0 bytes written, -EAGAIN, or -errno/-EPROTO. */
ssize_t ila_conn_write(struct ila_conn *c, const void *buf, size_t n);

/*
 * The peer certificate's identity: the first DNS subjectAltName, else the
 * subject CN. -ENOENT in plaintext or without a certificate.
 */
int ila_conn_peer_identity(const struct ila_conn *c, char *out, size_t len);

#endif
