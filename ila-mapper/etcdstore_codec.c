/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The etcd store's keys, journal positions and values: encoded, parsed, checked. */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "mapper.h"
#include "etcdstore_priv.h"

#define POS_SHIFT 16 /* a journal position: revision << 16 | index in the revision */

static const char hexd[] = "0123456789abcdef";

uint64_t estore_pos(int64_t rev, unsigned idx)
{
	return ((uint64_t)rev << POS_SHIFT) | (idx & 0xffff);
}

int64_t estore_pos_rev(uint64_t pos)
{
	return (int64_t)(pos >> POS_SHIFT);
}

/* PREFIX m/VVVVVVVV/6-AAAA... (32 hex) or /4-AAAAAAAA */
size_t estore_key(const struct estore *e, const struct store_key *k, char *buf)
{
	size_t n = e->plen, alen = k->b[4] == 4 ? 4 : 16;

	memcpy(buf, e->prefix, n);
	buf[n++] = 'm';
	buf[n++] = '/';
	for (int i = 0; i < 4; i++) {
		buf[n++] = hexd[k->b[i] >> 4];
		buf[n++] = hexd[k->b[i] & 15];
	}
	buf[n++] = '/';
	buf[n++] = k->b[4] == 4 ? '4' : '6';
	buf[n++] = '-';
	for (size_t i = 0; i < alen; i++) {
		buf[n++] = hexd[k->b[5 + i] >> 4];
		buf[n++] = hexd[k->b[5 + i] & 15];
	}
	buf[n] = '\0';
	return n;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool estore_hex_bytes(const uint8_t *s, size_t nbytes, uint8_t *out)
{
	for (size_t i = 0; i < nbytes; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/*
 * A key under the prefix: ESTORE_KEY_MAPPING (k filled), ESTORE_KEY_NODE
 * (name filled, a configured node's name is not checked here), or
 * ESTORE_KEY_OTHER for anything else.
 */
int estore_parse_key(const struct estore *e, const uint8_t *key, size_t len, struct store_key *k,
		     char *name, size_t namelen)
{
	if (len < e->plen + 2 || memcmp(key, e->prefix, e->plen) != 0)
		return ESTORE_KEY_OTHER;
	key += e->plen;
	len -= e->plen;
	if (key[0] == 'n' && key[1] == '/') {
		if (len - 2 == 0 || len - 2 >= namelen)
			return ESTORE_KEY_OTHER;
		for (size_t i = 2; i < len; i++) {
			if (!isgraph(key[i]))
				return ESTORE_KEY_OTHER;
		}
		memcpy(name, key + 2, len - 2);
		name[len - 2] = '\0';
		return ESTORE_KEY_NODE;
	}
	if (key[0] != 'm' || key[1] != '/' || len < 2 + 8 + 1 + 2 || key[10] != '/' ||
	    key[12] != '-')
		return ESTORE_KEY_OTHER;
	memset(k, 0, sizeof(*k));
	if (!estore_hex_bytes(key + 2, 4, k->b))
		return ESTORE_KEY_OTHER;
	if (key[11] == '6' && len == 13 + 32)
		k->b[4] = 6;
	else if (key[11] == '4' && len == 13 + 8)
		k->b[4] = 4;
	else
		return ESTORE_KEY_OTHER;
	if (!estore_hex_bytes(key + 13, k->b[4] == 4 ? 4 : 16, k->b + 5))
		return ESTORE_KEY_OTHER;
	return ESTORE_KEY_MAPPING;
}

/* PREFIX "id": the directory's id, read apart (not a value that failed). */
bool estore_is_id_key(const struct estore *e, const uint8_t *key, size_t len)
{
	return len == e->plen + 2 && memcmp(key, e->prefix, e->plen) == 0 &&
	       memcmp(key + e->plen, "id", 2) == 0;
}

/* A value from etcd crosses a trust boundary: checked like a record. */
bool estore_value_ok(const struct mapper *m, const struct store_key *k, const void *v,
		     size_t len, struct mapping *mp)
{
	memset(mp, 0, sizeof(*mp));
	if (store_value_decode(v, len, mp) < 0)
		return false;
	store_key_to_record(k, &mp->rec);
	if (mp->rec.state > ILA_STATE_MAX || !mapper_vn(m, mp->rec.vn))
		return false;
	for (const char *c = mp->rec.node; *c; c++) {
		if (!isgraph((unsigned char)*c))
			return false;
	}
	for (const char *c = mp->standby_node; *c; c++) {
		if (!isgraph((unsigned char)*c))
			return false;
	}
	return true;
}
