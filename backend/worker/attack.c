// SPDX-License-Identifier: GPL-2.0-or-later
/* Self-attacks of test builds; see attack.h. */
#define G_LOG_DOMAIN "x9p-worker"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "9p/p9.h"
#include "worker/attack.h"

unsigned x9p_attack_armed;

#ifdef X9P_SELF_ATTACK

static const char *const names[X9P_ATTACK_MAX + 1] = {
	NULL, "open a host file", "connect to XenStore", "map a grant", "bind an event channel",
	"ptrace the monitor", "kill the monitor", "socket(AF_INET)", "execve",
	"die after an Rmkdir", "die before an Rwalk", "die before every Rmkdir",
	"die before an Rclunk", "die after an Rflush", "flip a bit of every Rgetattr's mode",
};

/* The crash points: where, at which reply, and whether in every worker. */
static const struct {
	enum x9p_attack_point point;
	uint8_t rtype;
	bool always;
} crash[X9P_ATTACK_MAX + 1] = {
	[9] = { X9P_AP_REPLY_PUBLISHED, P9_RMKDIR, false },
	[10] = { X9P_AP_REPLY_PUBLISHING, P9_RWALK, false },
	[11] = { X9P_AP_REPLY_PUBLISHING, P9_RMKDIR, true },
	[12] = { X9P_AP_REPLY_PUBLISHING, P9_RCLUNK, false },
	[13] = { X9P_AP_REPLY_PUBLISHED, P9_RFLUSH, false },
	/* Armed as the crash points are, but answers instead of dying. */
	[14] = { X9P_AP_REPLY_PUBLISHING, P9_RGETATTR, true },
};

void x9p_attack_crash(enum x9p_attack_point p, uint8_t rtype)
{
	unsigned a = x9p_attack_armed;

	if (a <= X9P_ATTACK_MAX && a != X9P_ATTACK_PERTURB && crash[a].rtype == rtype &&
	    crash[a].point == p) {
		g_message("self-attack %u (%s): dying here", a, names[a]);
		raise(SIGKILL);
	}
}

static int try_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int xenstore(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int rc = try_open("/dev/xen/xenbus"), s;

	if (rc == 0)
		return 0;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	strcpy(sun.sun_path, "/var/run/xenstored/socket");
	rc = connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	close(s);
	return rc;
}

bool x9p_attack_available(void)
{
	return true;
}

/* With the descriptor a Xen worker holds: a grant of its own frontend's
 * domain (reference 1, whatever it is) and a new port. */
static int map_grant(const struct x9p_attack_target *t)
{
	void *p;

	if (!t->gnttab)
		return try_open("/dev/xen/gntdev");
	p = xengnttab_map_grant_ref(t->gnttab, t->domid, 1, PROT_READ);
	if (!p)
		return -errno;
	xengnttab_unmap(t->gnttab, p, 1);
	return 0;
}

static int bind_port(const struct x9p_attack_target *t)
{
	xenevtchn_port_or_error_t p;

	if (!t->evtchn)
		return try_open("/dev/xen/evtchn");
	p = xenevtchn_bind_unbound_port(t->evtchn, t->domid);
	return p < 0 ? -errno : 0;
}

void x9p_attack(unsigned which, const struct x9p_attack_target *t)
{
	pid_t monitor = t->monitor;
	char *const argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)"true", NULL };
	int rc = -EINVAL, s;

	if (which == 0 || which > X9P_ATTACK_MAX)
		return;
	if (crash[which].rtype) {
		/* Once, unless always: the next worker takes the session over. */
		bool arm = crash[which].always || !t->restored;

		g_message("self-attack %u (%s): %s", which, names[which],
			  arm ? "armed" : "not armed in a worker that took a session over");
		if (arm)
			x9p_attack_armed = which;
		return;
	}
	g_message("self-attack %u (%s): trying", which, names[which]);
	switch (which) {
	case 1:
		rc = try_open("/etc/passwd");
		break;
	case 2:
		rc = xenstore();
		break;
	case 3:
		rc = map_grant(t);
		break;
	case 4:
		rc = bind_port(t);
		break;
	case 5:
		rc = ptrace(PTRACE_ATTACH, monitor, NULL, NULL) < 0 ? -errno : 0;
		break;
	case 6:
		rc = kill(monitor, SIGKILL) < 0 ? -errno : 0;
		break;
	case 7:
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		rc = s < 0 ? -errno : 0;
		if (s >= 0)
			close(s);
		break;
	case 8:
		execve(argv[0], argv, NULL);
		rc = -errno;
		break;
	}
	if (rc == 0)
		g_critical("self-attack %u (%s): SUCCEEDED", which, names[which]);
	else
		g_message("self-attack %u (%s): refused (%s)", which, names[which],
			  g_strerror(-rc));
}

#else

unsigned x9p_attack_armed;

void x9p_attack_crash(enum x9p_attack_point p, uint8_t rtype)
{
}

bool x9p_attack_available(void)
{
	return false;
}

void x9p_attack(unsigned which, const struct x9p_attack_target *t)
{
}

#endif
