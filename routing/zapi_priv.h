/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What zapi_codec.c and the client (zapi_client_priv.h) share: the ZAPI wire constants and addr_len(). */
#ifndef ILA_ROUTING_ZAPI_PRIV_H
#define ILA_ROUTING_ZAPI_PRIV_H

#include <stddef.h>
#include <sys/socket.h>

#include "zapi.h"

#define ZAPI_ROUTE_MSG_MAX 80 /* largest ROUTE_ADD built here */

/* ZAPI constants shared by every profile (lib/zclient.h, lib/nexthop.h). */
#define ZAPI_FLAG_ALLOW_RECURSION 0x01
#define ZAPI_MSG_NEXTHOP 0x01
#define ZAPI_MSG_DISTANCE 0x02
#define ZAPI_MSG_METRIC 0x04
#define ZAPI_MSG_TAG 0x08
#define ZAPI_MSG_SRCPFX 0x20
#define ZAPI_MSG_NHG 0x80
#define ZAPI_SAFI_UNICAST 1
#define ZAPI_AFI_IP 1
#define ZAPI_AFI_IP6 2
#define ZAPI_NH_IFINDEX 1
#define ZAPI_NH_IPV4 2
#define ZAPI_NH_IPV4_IFINDEX 3
#define ZAPI_NH_IPV6 4
#define ZAPI_NH_IPV6_IFINDEX 5
#define ZAPI_NH_BLACKHOLE 6
#define ZAPI_BLACKHOLE_NULL 1

static inline size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : family == AF_INET ? 4 : 0;
}

#endif
