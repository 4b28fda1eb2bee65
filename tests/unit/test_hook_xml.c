/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ila-libvirt-hook's reading of libvirt domain XML (hook/domxml.c): the
 * ila:workload metadata, the device of each interface, and the refusal of
 * every kind of wrong metadata with a message naming what is wrong.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hook/domxml.h"

#define WL_OPEN "<ila:workload xmlns:ila=\"urn:ila:libvirt:1\">"

/* A domain whose metadata is md and whose devices are devs. */
static int parse(const char *md, const char *devs, struct hook_domain *d, char *err)
{
	char xml[16384];

	snprintf(xml, sizeof(xml),
		 "<domain type='qemu'>\n  <name>vm1</name>\n  <metadata>%s</metadata>\n"
		 "  <devices>%s</devices>\n</domain>\n", md, devs);
	err[0] = '\0';
	return hook_domain_parse(xml, strlen(xml), d, err, 256);
}

static const char *DEV1 =
	"<interface type='ethernet'><mac address='52:54:00:12:34:56'/>"
	"<target dev='vnet7'/><model type='virtio'/></interface>";

static void test_full_example(void **state)
{
	static const char xml[] =
		"<domain type='kvm' id='3'>\n"
		"  <name>web-1</name>\n"
		"  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>\n"
		"  <metadata>\n"
		"    <other:thing xmlns:other=\"urn:example:other\"><other:x/></other:thing>\n"
		"    <ila:workload xmlns:ila=\"urn:ila:libvirt:1\">\n"
		"      <ila:interface mac=\"52:54:00:12:34:56\" vn=\"blue\">\n"
		"        <ila:address>2001:db8:1::42</ila:address>\n"
		"        <ila:address>192.0.2.42</ila:address>\n"
		"      </ila:interface>\n"
		"    </ila:workload>\n"
		"  </metadata>\n"
		"  <devices>\n"
		"    <interface type='network'><mac address='52:54:00:aa:bb:cc'/>"
		"<target dev='vnet0'/></interface>\n"
		"    <interface type='ethernet'>\n"
		"      <mac address='52:54:00:12:34:56'/>\n"
		"      <target dev='ilahk0' managed='yes'/>\n"
		"    </interface>\n"
		"  </devices>\n"
		"</domain>\n";
	struct hook_domain d;
	char err[256] = "";

	(void)state;
	assert_int_equal(hook_domain_parse(xml, strlen(xml), &d, err, sizeof(err)), 0);
	assert_string_equal(d.name, "web-1");
	assert_int_equal(d.nifaces, 1);
	assert_string_equal(d.ifaces[0].mac, "52:54:00:12:34:56");
	assert_string_equal(d.ifaces[0].vn, "blue");
	assert_string_equal(d.ifaces[0].target, "ilahk0");
	assert_int_equal(d.ifaces[0].naddrs, 2);
	assert_int_equal(d.ifaces[0].addrs[0].family, AF_INET6);
	assert_string_equal(d.ifaces[0].addrs[0].text, "2001:db8:1::42");
	assert_int_equal(d.ifaces[0].addrs[1].family, AF_INET);
	assert_string_equal(d.ifaces[0].addrs[1].text, "192.0.2.42");
}

static void test_no_metadata(void **state)
{
	static const char plain[] = "<domain type='qemu'><name>a</name><devices/></domain>";
	struct hook_domain d;
	char err[256];

	(void)state;
	assert_int_equal(hook_domain_parse(plain, strlen(plain), &d, err, sizeof(err)), 0);
	assert_int_equal(d.nifaces, 0);
	/* metadata of others only, or our element names in another namespace */
	assert_int_equal(parse("<x:workload xmlns:x='urn:ila:libvirt:2'><x:interface "
			       "mac='52:54:00:12:34:56' vn='b'/></x:workload>", DEV1, &d, err), 0);
	assert_int_equal(d.nifaces, 0);
	assert_int_equal(parse("<workload/>", DEV1, &d, err), 0);
	assert_int_equal(d.nifaces, 0);
}

static void test_canonical_and_case(void **state)
{
	struct hook_domain d;
	char err[256];

	(void)state;
	assert_int_equal(parse(WL_OPEN "<ila:interface mac='52:54:00:AB:CD:EF' vn='red_1.x'>"
			       "<ila:address>\n  2001:DB8:1:0:0:0:0:42 </ila:address>"
			       "</ila:interface></ila:workload>",
			       "<interface type='ethernet'><mac address='52:54:00:ab:cd:EF'/>"
			       "<target dev='macvtap3'/></interface>", &d, err), 0);
	assert_string_equal(d.ifaces[0].mac, "52:54:00:ab:cd:ef");
	assert_string_equal(d.ifaces[0].vn, "red_1.x");
	assert_string_equal(d.ifaces[0].addrs[0].text, "2001:db8:1::42");
	assert_string_equal(d.ifaces[0].target, "macvtap3");
}

static void test_unknown_ignored(void **state)
{
	struct hook_domain d;
	char err[256];

	(void)state;
	assert_int_equal(parse(WL_OPEN "<ila:comment>hi</ila:comment>"
			       "<ila:interface mac='52:54:00:12:34:56' vn='blue' colour='red'>"
			       "<ila:note>x</ila:note><o:address xmlns:o='urn:o'>not ours</o:address>"
			       "<ila:address>2001:db8:1::1</ila:address></ila:interface>"
			       "<ila:future/></ila:workload>", DEV1, &d, err), 0);
	assert_int_equal(d.nifaces, 1);
	assert_int_equal(d.ifaces[0].naddrs, 1);
	assert_string_equal(d.ifaces[0].target, "vnet7");
}

/* as `virsh metadata --uri urn:ila:libvirt:1 --key ila --set` stores it */
static void test_virsh_metadata_shape(void **state)
{
	struct hook_domain d;
	char err[256];

	(void)state;
	assert_int_equal(parse("<ila:workload xmlns:ila=\"urn:ila:libvirt:1\">"
			       "<ila:interface mac='52:54:00:12:34:56' vn='blue'>"
			       "<address>2001:db8:1::7</address></ila:interface></ila:workload>",
			       DEV1, &d, err), 0);
	assert_int_equal(d.nifaces, 1);
	assert_string_equal(d.ifaces[0].addrs[0].text, "2001:db8:1::7");
	/* another namespace is not ours */
	assert_int_equal(parse(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'>"
			       "<x:address xmlns:x='urn:x'>2001:db8:1::7</x:address>"
			       "</ila:interface></ila:workload>", DEV1, &d, err), -EINVAL);
	assert_non_null(strstr(err, "has no ila:address"));
}

static void test_no_target(void **state)
{
	struct hook_domain d;
	char err[256];

	(void)state;
	/* a migratable XML: libvirt dropped the generated tap name */
	assert_int_equal(parse(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'>"
			       "<ila:address>2001:db8:1::1</ila:address></ila:interface>"
			       "</ila:workload>", "<interface type='network'>"
			       "<mac address='52:54:00:12:34:56'/></interface>", &d, err), 0);
	assert_string_equal(d.ifaces[0].target, "");
}

static void test_two_interfaces(void **state)
{
	struct hook_domain d;
	char err[256];

	(void)state;
	assert_int_equal(parse(WL_OPEN
			       "<ila:interface mac='52:54:00:00:00:02' vn='green'>"
			       "<ila:address>192.0.2.7</ila:address></ila:interface>"
			       "<ila:interface mac='52:54:00:12:34:56' vn='blue'>"
			       "<ila:address>2001:db8:1::1</ila:address></ila:interface>"
			       "</ila:workload>",
			       "<interface type='ethernet'><mac address='52:54:00:00:00:02'/>"
			       "<target dev='t2'/></interface>" "<interface type='ethernet'>"
			       "<mac address='52:54:00:12:34:56'/><target dev='t1'/></interface>",
			       &d, err), 0);
	assert_int_equal(d.nifaces, 2);
	assert_string_equal(d.ifaces[0].target, "t2");
	assert_string_equal(d.ifaces[1].target, "t1");
}

/* wrong metadata: refused, with a message containing what */
static void bad(const char *md, const char *devs, const char *what)
{
	struct hook_domain d;
	char err[256];

	assert_int_equal(parse(md, devs, &d, err), -EINVAL);
	assert_int_equal(d.nifaces, 0);
	if (!strstr(err, what))
		fail_msg("error '%s' does not name '%s'", err, what);
}

static void test_bad_metadata(void **state)
{
	(void)state;
	bad(WL_OPEN "<ila:interface vn='blue'><ila:address>2001:db8::1</ila:address>"
	    "</ila:interface></ila:workload>", DEV1, "mac missing");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34' vn='blue'><ila:address>2001:db8::1"
	    "</ila:address></ila:interface></ila:workload>", DEV1, "mac missing");
	bad(WL_OPEN "<ila:interface mac='52-54-00-12-34-56' vn='blue'><ila:address>2001:db8::1"
	    "</ila:address></ila:interface></ila:workload>", DEV1, "mac missing");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56'><ila:address>2001:db8::1"
	    "</ila:address></ila:interface></ila:workload>", DEV1, "vn missing");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='bl ue'><ila:address>2001:db8::1"
	    "</ila:address></ila:interface></ila:workload>", DEV1, "not a vn name");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'><ila:address>2001:db8::zz"
	    "</ila:address></ila:interface></ila:workload>", DEV1, "'2001:db8::zz' is neither");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'><ila:address>192.0.2.1/24"
	    "</ila:address></ila:interface></ila:workload>", DEV1, "192.0.2.1/24");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'><ila:address/>"
	    "</ila:interface></ila:workload>", DEV1, "is neither");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'/></ila:workload>", DEV1,
	    "has no ila:address");
	bad(WL_OPEN "</ila:workload>", DEV1, "no ila:interface");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'><ila:address>2001:db8::1"
	    "</ila:address><ila:address>2001:db8:0::1</ila:address></ila:interface>"
	    "</ila:workload>", DEV1, "2001:db8::1 given twice");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'><ila:address>2001:db8::1"
	    "</ila:address></ila:interface><ila:interface mac='52:54:00:12:34:56' vn='red'>"
	    "<ila:address>2001:db8::2</ila:address></ila:interface></ila:workload>", DEV1,
	    "52:54:00:12:34:56 given twice");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'><ila:address>2001:db8::1"
	    "</ila:address></ila:interface><ila:interface mac='52:54:00:00:00:01' vn='red'>"
	    "<ila:address>2001:db8::1</ila:address></ila:interface></ila:workload>", DEV1,
	    "given twice");
	bad(WL_OPEN "<ila:interface mac='52:54:00:00:00:99' vn='blue'><ila:address>2001:db8::1"
	    "</ila:address></ila:interface></ila:workload>", DEV1,
	    "52:54:00:00:00:99: no <devices><interface> has this mac");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'><ila:address>2001:db8::1"
	    "</ila:address></ila:interface></ila:workload>" WL_OPEN "</ila:workload>", DEV1,
	    "more than one ila:workload");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'><ila:address>2001:db8::1"
	    "</ila:address></ila:interface></ila:workload>", "<interface type='ethernet'>"
	    "<mac address='52:54:00:12:34:56'/><target dev='a-very-long-device-name'/>"
	    "</interface>", "target dev");
	/* a target dev is one word of a control command: no second word slips in */
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'><ila:address>2001:db8::1"
	    "</ila:address></ila:interface></ila:workload>", "<interface type='ethernet'>"
	    "<mac address='52:54:00:12:34:56'/><target dev='tap0 down'/>"
	    "</interface>", "not an interface name");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'><ila:address>2001:db8::1"
	    "</ila:address></ila:interface></ila:workload>", "<interface type='ethernet'>"
	    "<mac address='52:54:00:12:34:56'/><target dev='..'/>"
	    "</interface>", "not an interface name");
	bad(WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='blue'><ila:address>2001:db8::1"
	    "</ila:address></ila:interface></ila:workload>", "<interface type='ethernet'>"
	    "<mac address='52:54:00:12:34:56'/><target dev=''/>"
	    "</interface>", "not an interface name");
}

static void test_limits(void **state)
{
	char md[12000], *p = md;
	struct hook_domain d;
	char err[256];

	(void)state;
	p += sprintf(p, WL_OPEN);
	for (int i = 0; i <= HOOK_MAX_IFACES; i++)
		p += sprintf(p, "<ila:interface mac='52:54:00:00:00:%02x' vn='b'><ila:address>"
			     "2001:db8::%x</ila:address></ila:interface>", i, i + 1);
	sprintf(p, "</ila:workload>");
	assert_int_equal(parse(md, DEV1, &d, err), -EINVAL);
	assert_non_null(strstr(err, "more than 16 ila:interface"));

	p = md;
	p += sprintf(p, WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='b'>");
	for (int i = 0; i <= HOOK_MAX_ADDRS; i++)
		p += sprintf(p, "<ila:address>2001:db8::%x</ila:address>", i + 1);
	sprintf(p, "</ila:interface></ila:workload>");
	assert_int_equal(parse(md, DEV1, &d, err), -EINVAL);
	assert_non_null(strstr(err, "more than 16 addresses"));
	/* the last one that fits */
	p = md;
	p += sprintf(p, WL_OPEN "<ila:interface mac='52:54:00:12:34:56' vn='b'>");
	for (int i = 0; i < HOOK_MAX_ADDRS; i++)
		p += sprintf(p, "<ila:address>2001:db8::%x</ila:address>", i + 1);
	sprintf(p, "</ila:interface></ila:workload>");
	assert_int_equal(parse(md, DEV1, &d, err), 0);
	assert_int_equal(d.ifaces[0].naddrs, HOOK_MAX_ADDRS);
}

static void test_not_a_domain(void **state)
{
	static const char *cases[][2] = {
		{ "", "domain XML" },
		{ "<domain><name>x</name>", "domain XML" },
		{ "not xml at all", "domain XML" },
		{ "<network><name>x</name></network>", "not a libvirt domain" },
		{ "<d:domain xmlns:d='urn:x'/>", "not a libvirt domain" },
	};
	struct hook_domain d;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(hook_domain_parse(cases[i][0], strlen(cases[i][0]), &d, err,
						   sizeof(err)), -EINVAL);
		if (!strstr(err, cases[i][1]))
			fail_msg("case %zu: '%s' does not name '%s'", i, err, cases[i][1]);
	}
	assert_int_equal(hook_domain_parse("<domain/>", HOOK_XML_MAX + 1, &d, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "longer than"));
}

/* An external entity is never loaded: its text stays empty, and is refused. */
static void test_no_external_entity(void **state)
{
	static const char xml[] =
		"<?xml version='1.0'?>\n"
		"<!DOCTYPE domain [<!ENTITY ext SYSTEM 'file:///etc/hostname'>]>\n"
		"<domain><name>x</name><metadata>" WL_OPEN
		"<ila:interface mac='52:54:00:12:34:56' vn='blue'><ila:address>&ext;</ila:address>"
		"</ila:interface></ila:workload></metadata><devices>"
		"<interface type='ethernet'><mac address='52:54:00:12:34:56'/></interface>"
		"</devices></domain>";
	struct hook_domain d;
	char err[256];

	(void)state;
	assert_int_equal(hook_domain_parse(xml, strlen(xml), &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is neither"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_no_metadata),
		cmocka_unit_test(test_canonical_and_case),
		cmocka_unit_test(test_unknown_ignored),
		cmocka_unit_test(test_virsh_metadata_shape),
		cmocka_unit_test(test_no_target),
		cmocka_unit_test(test_two_interfaces),
		cmocka_unit_test(test_bad_metadata),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_not_a_domain),
		cmocka_unit_test(test_no_external_entity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
