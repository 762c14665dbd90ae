/* linux.netDevices (README.md, `NETDEV`): the shim's parent, root in the runtime's network namespace, moves
 * each named interface into the network namespace the child was just born in, over rtnetlink, right after
 * CLONE and before it reports the PID. Its permanent global addresses go with it and it is set up there: the
 * parent makes a second rtnetlink socket inside that namespace (setns there and back; it is the shim, never
 * the runtime, that enters it). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "shim.h"

struct netdev {
	uint32_t step;
	const char *host; /* its name in the runtime's namespace */
	const char *name; /* its name in the container's (a `%d` template lets the kernel number it) */
};

static struct netdev *netdevs;
static size_t nnetdevs;
static pid_t child; /* killed on failure: it waits for a segment that will never come */

void op_netdev(const struct rec *r)
{
	struct netdev *grown = realloc(netdevs, (nnetdevs + 1) * sizeof *netdevs);
	if (!grown)
		die(ENOMEM, "network device %s", r->f[1]);
	netdevs = grown;
	netdevs[nnetdevs++] = (struct netdev){ .step = shim.step, .host = r->f[1], .name = r->f[2] };
}

const char *check_netdev(const struct rec *r)
{
	for (int i = 1; i <= 2; i++)
		if (r->len[i] == 0 || r->len[i] >= IFNAMSIZ)
			return "NETDEV: a device name is 1 to 15 bytes";
	return NULL;
}

static _Noreturn __attribute__((format(printf, 2, 3))) void fail(int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	die(err, "%s", msg);
}

/* ---- rtnetlink ------------------------------------------------------------------------------------------- */

struct msg {
	_Alignas(struct nlmsghdr) unsigned char buf[512];
};

static struct nlmsghdr *msg_start(struct msg *m, uint16_t type, uint16_t flags, const void *body, size_t len)
{
	memset(m, 0, sizeof *m);
	struct nlmsghdr *h = (struct nlmsghdr *)m->buf;
	h->nlmsg_len = NLMSG_LENGTH(len);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	memcpy(NLMSG_DATA(h), body, len);
	return h;
}

/* Appends an attribute; the buffer holds the few short ones these requests carry. */
static void msg_attr(struct nlmsghdr *h, uint16_t type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((unsigned char *)h + NLMSG_ALIGN(h->nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static _Alignas(struct nlmsghdr) unsigned char reply[32768]; /* a dump datagram is at most 32 KiB */

/* Sends h and reads the answer into `reply`: 0 and its length in *len, or an errno value. */
static int talk(int fd, struct nlmsghdr *h, ssize_t *len)
{
	static uint32_t seq;
	h->nlmsg_seq = ++seq;
	if (send(fd, h, h->nlmsg_len, 0) < 0)
		return errno;
	for (;;) {
		*len = recv(fd, reply, sizeof reply, 0);
		if (*len < 0 && errno == EINTR)
			continue;
		if (*len < 0)
			return errno;
		struct nlmsghdr *r = (struct nlmsghdr *)reply;
		if (!NLMSG_OK(r, (size_t)*len))
			return EBADMSG;
		if (r->nlmsg_seq != seq)
			continue;
		if (r->nlmsg_type == NLMSG_ERROR)
			return -((struct nlmsgerr *)NLMSG_DATA(r))->error;
		return 0;
	}
}

/* A request whose only answer is an acknowledgement. */
static int request(int fd, struct nlmsghdr *h)
{
	ssize_t len;
	h->nlmsg_flags |= NLM_F_ACK;
	return talk(fd, h, &len);
}

static int link_index(int fd, const char *name, int *index)
{
	struct msg m;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nlmsghdr *h = msg_start(&m, RTM_GETLINK, 0, &ifi, sizeof ifi);
	msg_attr(h, IFLA_IFNAME, name, strlen(name) + 1);
	ssize_t len;
	int err = talk(fd, h, &len);
	if (err)
		return err;
	*index = ((struct ifinfomsg *)NLMSG_DATA((struct nlmsghdr *)reply))->ifi_index;
	return 0;
}

/* RTM_NEWLINK on an existing link: a new name, a namespace to move to, the up flag (each optional). */
static int set_link(int fd, int index, const char *name, int netns, bool up)
{
	struct msg m;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index };
	if (up) {
		ifi.ifi_flags = IFF_UP;
		ifi.ifi_change = IFF_UP;
	}
	struct nlmsghdr *h = msg_start(&m, RTM_NEWLINK, 0, &ifi, sizeof ifi);
	if (name)
		msg_attr(h, IFLA_IFNAME, name, strlen(name) + 1);
	if (netns >= 0) {
		uint32_t fd32 = (uint32_t)netns;
		msg_attr(h, IFLA_NET_NS_FD, &fd32, sizeof fd32);
	}
	return request(fd, h);
}

struct addr {
	struct ifaddrmsg ifa;
	unsigned char bytes[16];
	size_t len;
};

/* The link's permanent addresses of global scope (config-linux.md: those the move keeps), any family. */
static size_t permanent_addrs(int fd, int index, struct addr **out)
{
	struct msg m;
	struct ifaddrmsg want = { .ifa_family = AF_UNSPEC };
	struct nlmsghdr *h = msg_start(&m, RTM_GETADDR, NLM_F_DUMP, &want, sizeof want);
	size_t n = 0;
	*out = NULL;
	ssize_t len;
	int err = talk(fd, h, &len);
	for (;;) {
		if (err)
			fail(err, "list the addresses of the network device");
		for (struct nlmsghdr *r = (struct nlmsghdr *)reply; NLMSG_OK(r, (size_t)len); r = NLMSG_NEXT(r, len)) {
			if (r->nlmsg_type == NLMSG_DONE)
				return n;
			if (r->nlmsg_type == NLMSG_ERROR)
				fail(-((struct nlmsgerr *)NLMSG_DATA(r))->error,
				     "list the addresses of the network device");
			if (r->nlmsg_type != RTM_NEWADDR)
				continue;
			struct ifaddrmsg *ifa = NLMSG_DATA(r);
			uint32_t flags = ifa->ifa_flags;
			const struct rtattr *local = NULL, *address = NULL;
			int alen = (int)IFA_PAYLOAD(r);
			for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				if (a->rta_type == IFA_FLAGS && RTA_PAYLOAD(a) == sizeof flags)
					memcpy(&flags, RTA_DATA(a), sizeof flags);
				else if (a->rta_type == IFA_LOCAL)
					local = a;
				else if (a->rta_type == IFA_ADDRESS)
					address = a;
			}
			const struct rtattr *use = local ? local : address;
			if ((int)ifa->ifa_index != index || !(flags & IFA_F_PERMANENT) ||
			    ifa->ifa_scope != RT_SCOPE_UNIVERSE || !use || RTA_PAYLOAD(use) > 16)
				continue;
			struct addr *grown = realloc(*out, (n + 1) * sizeof **out);
			if (!grown)
				fail(ENOMEM, "list the addresses of the network device");
			*out = grown;
			grown[n] = (struct addr){ .ifa = *ifa, .len = RTA_PAYLOAD(use) };
			memcpy(grown[n].bytes, RTA_DATA(use), grown[n].len);
			n++;
		}
		/* the rest of the dump */
		len = recv(fd, reply, sizeof reply, 0);
		err = len < 0 ? errno : 0;
		if (err == EINTR)
			err = 0, len = 0;
	}
}

static int add_addr(int fd, int index, const struct addr *a)
{
	struct msg m;
	struct ifaddrmsg ifa = { .ifa_family = a->ifa.ifa_family,
				 .ifa_prefixlen = a->ifa.ifa_prefixlen,
				 .ifa_scope = RT_SCOPE_UNIVERSE,
				 .ifa_index = (uint32_t)index };
	struct nlmsghdr *h = msg_start(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
	if (a->ifa.ifa_family == AF_INET)
		msg_attr(h, IFA_LOCAL, a->bytes, a->len);
	msg_attr(h, IFA_ADDRESS, a->bytes, a->len);
	return request(fd, h);
}

static int nl_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		fail(errno, "open an rtnetlink socket");
	return fd;
}

/* ---- the move -------------------------------------------------------------------------------------------- */

static void move_one(const struct netdev *d, unsigned n, int host, int inside, int own_ns, int target_ns)
{
	int index, err;
	if ((err = link_index(host, d->host, &index)))
		fail(err, "no network device %s in the runtime's network namespace", d->host);
	struct addr *addrs;
	size_t naddrs = permanent_addrs(host, index, &addrs);
	/* Moved under a name of runt's, then renamed inside: the final name may be a `%d` template the kernel
	 * numbers, and the device is found there again by this one. */
	char tmp[IFNAMSIZ];
	snprintf(tmp, sizeof tmp, "runtmv%u", n);
	if ((err = set_link(host, index, tmp, target_ns, false)))
		fail(err, "move network device %s into the container's network namespace", d->host);
	int moved;
	if ((err = link_index(inside, tmp, &moved)))
		fail(err, "find network device %s (moved as %s) in the container's network namespace", d->host, tmp);
	if ((err = set_link(inside, moved, d->name, -1, false))) {
		/* back to the runtime's namespace under its own name, rather than left for the kernel to return it
		 * under the temporary one when the namespace goes */
		set_link(inside, moved, d->host, own_ns, false);
		if (err == EEXIST)
			fail(0, "a network device named %s already exists in the container's network namespace",
			     d->name);
		fail(err, "rename network device %s to %s", d->host, d->name);
	}
	for (size_t i = 0; i < naddrs; i++)
		if ((err = add_addr(inside, moved, &addrs[i])))
			fail(err, "add an address (family %u, /%u) to network device %s", addrs[i].ifa.ifa_family,
			     addrs[i].ifa.ifa_prefixlen, d->name);
	if ((err = set_link(inside, moved, NULL, -1, true)))
		fail(err, "set network device %s up", d->name);
	free(addrs);
}

void netdev_after_clone(pid_t pid)
{
	if (nnetdevs == 0)
		return;
	uint32_t clone_step = shim.step;
	child = pid;
	shim.step = netdevs[0].step;
	char path[32];
	snprintf(path, sizeof path, "%d/ns/net", (int)pid);
	int target_ns = openat(shim.host_proc, path, O_RDONLY | O_CLOEXEC);
	if (target_ns < 0)
		fail(errno, "open the container's network namespace");
	int own_ns = openat(shim.host_proc, "self/ns/net", O_RDONLY | O_CLOEXEC);
	if (own_ns < 0)
		fail(errno, "open the runtime's network namespace");
	int host = nl_socket();
	if (setns(target_ns, CLONE_NEWNET) < 0)
		fail(errno, "enter the container's network namespace");
	int inside = nl_socket();
	if (setns(own_ns, CLONE_NEWNET) < 0)
		fail(errno, "return to the runtime's network namespace");
	for (size_t i = 0; i < nnetdevs; i++) {
		shim.step = netdevs[i].step;
		move_one(&netdevs[i], (unsigned)i, host, inside, own_ns, target_ns);
	}
	close(inside);
	close(host);
	close(own_ns);
	close(target_ns);
	shim.step = clone_step;
}
